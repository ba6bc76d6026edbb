#include "server/proto_convert.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/error_reason.h"
#include "core/invalid_field.h"
#include "server/gallery_convert.h"

namespace faceserve {
namespace {


void PointToProto(const Point& p, v1::Point* out) {
  out->set_x(p.x);
  out->set_y(p.y);
}


void ScoresToProto(const std::vector<ClassScore>& scores,
                   google::protobuf::RepeatedPtrField<v1::ClassScore>* out) {
  out->Reserve(static_cast<int>(scores.size()));
  for (const ClassScore& s : scores) {
    v1::ClassScore* ps = out->Add();
    ps->set_label(s.label);
    ps->set_score(s.score);
  }
}

std::vector<ClassScore> ScoresFromProto(
    const google::protobuf::RepeatedPtrField<v1::ClassScore>& scores) {
  std::vector<ClassScore> out;
  out.reserve(scores.size());
  for (const v1::ClassScore& s : scores) out.push_back({s.label(), s.score()});
  return out;
}

}  // namespace

void TimingsToProto(const std::vector<StageTiming>& timings,
                    google::protobuf::RepeatedPtrField<v1::StageTiming>* out) {
  out->Reserve(static_cast<int>(timings.size()));
  for (const StageTiming& t : timings) {
    v1::StageTiming* pt = out->Add();
    pt->set_stage(t.stage);
    pt->set_seconds(t.seconds);
  }
}

// ---------------------------------------------------------------------------
// Requests

absl::StatusOr<ChannelOrder> ChannelOrderFromProto(int value, absl::string_view field) {
  switch (value) {
    case v1::CHANNEL_ORDER_UNSPECIFIED:
      return ChannelOrder::kUnspecified;  // the reader says why that is wrong
    case v1::CHANNEL_ORDER_RGB:
      return ChannelOrder::kRgb;
    case v1::CHANNEL_ORDER_BGR:
      return ChannelOrder::kBgr;
    case v1::CHANNEL_ORDER_RGBA:
      return ChannelOrder::kRgba;
    case v1::CHANNEL_ORDER_BGRA:
      return ChannelOrder::kBgra;
    case v1::CHANNEL_ORDER_GRAY:
      return ChannelOrder::kGray;
  }
  return InvalidFieldError(field, absl::StrCat("unknown ChannelOrder value ", value));
}

absl::StatusOr<FaceSelection> FaceSelectionFromProto(int value, FaceSelection unspecified_means,
                                                     absl::string_view field) {
  switch (value) {
    case v1::FACE_SELECTION_UNSPECIFIED:
      return unspecified_means;
    case v1::FACE_SELECTION_ALL:
      return FaceSelection::kAll;
    case v1::FACE_SELECTION_LARGEST:
      return FaceSelection::kLargest;
    case v1::FACE_SELECTION_WHOLE_IMAGE:
      return FaceSelection::kWholeImage;
  }
  return InvalidFieldError(field, absl::StrCat("unknown FaceSelection value ", value));
}

absl::StatusOr<ImageInput> ImageFromProto(const v1::Image& image, absl::string_view field) {
  ImageInput out;
  switch (image.source_case()) {
    case v1::Image::kEncoded:
      if (image.encoded().empty()) {
        return InvalidFieldError(absl::StrCat(field, ".encoded"), "empty");
      }
      out.encoded = image.encoded();
      return out;
    case v1::Image::kRaw: {
      const v1::RawImage& raw = image.raw();
      absl::StatusOr<ChannelOrder> order =
          ChannelOrderFromProto(raw.channel_order(), absl::StrCat(field, ".raw.channel_order"));
      if (!order.ok()) return order.status();
      out.is_raw = true;
      out.width = raw.width_px();
      out.height = raw.height_px();
      out.stride_bytes = raw.stride_bytes();
      out.channel_order = *order;
      out.pixels = raw.pixels();
      return out;
    }
    case v1::Image::SOURCE_NOT_SET:
      break;
  }
  return InvalidFieldError(field, absl::StrCat("not set (set ", field, ".encoded or ", field, ".raw)"));
}

absl::StatusOr<AnalyzeOptions> AnalyzeOptionsFromProto(const v1::AnalyzeOptions& options) {
  AnalyzeOptions out;
  if (options.predictors_size() > kMaxRequestedPredictors) {
    return InvalidFieldError("options.predictors",
                   absl::StrCat(options.predictors_size(), " names, more than the limit of ",
                                kMaxRequestedPredictors));
  }
  out.predictors.assign(options.predictors().begin(), options.predictors().end());
  if (options.detect_only() && options.predictors_size() > 0) {
    return InvalidFieldError("options.detect_only",
                   "runs no predictor: leave options.predictors empty with it");
  }
  out.detect_only = options.detect_only();
  const float score = options.min_detection_score();
  if (std::isnan(score) || score < 0.0f || score > 1.0f) {
    return InvalidFieldError("options.min_detection_score",
                   absl::StrCat("must be in [0, 1] (0: the configured default), got ", score));
  }
  out.min_detection_score = score;
  if (options.max_faces() < 0) {
    return InvalidFieldError("options.max_faces",
                   absl::StrCat("must be >= 0 (0: the configured limit), got ",
                                options.max_faces()));
  }
  out.max_faces = options.max_faces();
  out.return_embeddings = options.return_embeddings();
  out.return_annotated_image = options.return_annotated_image();
  out.return_face_crops = options.return_face_crops();
  return out;
}

absl::StatusOr<AnalyzeCall> AnalyzeCallFromProto(const v1::AnalyzeRequest& request) {
  AnalyzeCall call;
  absl::StatusOr<ImageInput> image = ImageFromProto(request.image(), "image");
  if (!image.ok()) return image.status();
  absl::StatusOr<AnalyzeOptions> options = AnalyzeOptionsFromProto(request.options());
  if (!options.ok()) return options.status();
  call.image = *std::move(image);
  call.options = *std::move(options);
  if (request.options().has_identify()) {
    if (call.options.detect_only) {
      return InvalidFieldError("options.identify",
                     "identification needs an embedding: not with options.detect_only");
    }
    absl::StatusOr<IdentifyOptions> identify =
        IdentifyOptionsFromProto(request.options().identify(), "options.identify");
    if (!identify.ok()) return identify.status();
    call.identify = *std::move(identify);
  }
  return call;
}

absl::StatusOr<EmbedCall> EmbedCallFromProto(const v1::EmbedRequest& request) {
  EmbedCall call;
  absl::StatusOr<ImageInput> image = ImageFromProto(request.image(), "image");
  if (!image.ok()) return image.status();
  absl::StatusOr<FaceSelection> selection =
      FaceSelectionFromProto(request.selection(), FaceSelection::kAll, "selection");
  if (!selection.ok()) return selection.status();
  call.image = *std::move(image);
  call.options.selection = *selection;
  call.options.predictor = request.predictor();
  return call;
}

absl::StatusOr<VerifyInput> VerifyInputFromProto(const v1::FaceInput& input,
                                                 absl::string_view field) {
  VerifyInput out;
  switch (input.source_case()) {
    case v1::FaceInput::kEmbedding: {
      const auto& values = input.embedding().values();
      for (int i = 0; i < values.size(); ++i) {
        if (!std::isfinite(values[i])) {
          return InvalidFieldError(absl::StrCat(field, ".embedding.values[", i, "]"),
                         absl::StrCat("not a finite number (", values[i], ")"));
        }
      }
      if (!values.empty() &&
          std::all_of(values.begin(), values.end(), [](float v) { return v == 0.0f; })) {
        return InvalidFieldError(absl::StrCat(field, ".embedding"),
                       "all values are zero (an embedding has unit length)");
      }
      out.is_embedding = true;
      out.embedding.assign(values.begin(), values.end());
      return out;
    }
    case v1::FaceInput::kImage: {
      absl::StatusOr<ImageInput> image =
          ImageFromProto(input.image(), absl::StrCat(field, ".image"));
      if (!image.ok()) return image.status();
      absl::StatusOr<FaceSelection> selection = FaceSelectionFromProto(
          input.selection(), FaceSelection::kLargest, absl::StrCat(field, ".selection"));
      if (!selection.ok()) return selection.status();
      if (*selection == FaceSelection::kAll) {
        return InvalidFieldError(absl::StrCat(field, ".selection"),
                       "FACE_SELECTION_ALL is not valid for Verify (use LARGEST or WHOLE_IMAGE)");
      }
      out.image = *std::move(image);
      out.selection = *selection;
      return out;
    }
    case v1::FaceInput::SOURCE_NOT_SET:
      break;
  }
  return InvalidFieldError(field, absl::StrCat("not set (set ", field, ".image or ", field, ".embedding)"));
}

absl::StatusOr<VerifyCall> VerifyCallFromProto(const v1::VerifyRequest& request) {
  VerifyCall call;
  absl::StatusOr<VerifyInput> a = VerifyInputFromProto(request.a(), "a");
  if (!a.ok()) return a.status();
  absl::StatusOr<VerifyInput> b = VerifyInputFromProto(request.b(), "b");
  if (!b.ok()) return b.status();
  const float threshold = request.threshold();
  if (std::isnan(threshold) || threshold < -1.0f || threshold > 1.0f) {
    return InvalidFieldError("threshold", absl::StrCat("must be a cosine similarity in [-1, 1] (0: the "
                                             "configured threshold), got ",
                                             threshold));
  }
  call.a = *std::move(a);
  call.b = *std::move(b);
  call.options.predictor = request.predictor();
  call.options.threshold = threshold;
  return call;
}

// ---------------------------------------------------------------------------
// Responses

void BoxToProto(const Box& box, v1::Box* out) {
  out->set_x1(box.x1);
  out->set_y1(box.y1);
  out->set_x2(box.x2);
  out->set_y2(box.y2);
}

void HeadResultToProto(const HeadResult& head, v1::PredictorOutput* out) {
  out->set_name(head.name);
  switch (head.kind) {
    case HeadKind::kClassification: {
      v1::Classification* c = out->mutable_classification();
      c->set_label(head.label);
      c->set_score(head.label_score);
      ScoresToProto(head.scores, c->mutable_scores());
      break;
    }
    case HeadKind::kMultiLabel: {
      v1::MultiLabel* m = out->mutable_multi_label();
      for (const std::string& label : head.active_labels) m->add_active_labels(label);
      ScoresToProto(head.scores, m->mutable_scores());
      m->set_threshold(head.threshold);
      break;
    }
    case HeadKind::kRegression: {
      v1::Regression* r = out->mutable_regression();
      for (const auto& [name, value] : head.values) {
        v1::NamedValue* nv = r->add_values();
        nv->set_name(name);
        nv->set_value(value);
      }
      break;
    }
    case HeadKind::kEmbedding: {
      auto* values = out->mutable_embedding()->mutable_values();
      values->Add(head.embedding.begin(), head.embedding.end());
      break;
    }
    case HeadKind::kLandmarks: {
      v1::Landmarks* l = out->mutable_landmarks();
      for (const Point& p : head.points) PointToProto(p, l->add_points());
      break;
    }
    case HeadKind::kLandmarks3d: {
      v1::Landmarks3D* l = out->mutable_landmarks_3d();
      for (size_t i = 0; i < head.points.size(); ++i) {
        v1::Point3* p = l->add_points();
        p->set_x(head.points[i].x);
        p->set_y(head.points[i].y);
        p->set_z(i < head.depths.size() ? head.depths[i] : 0.0f);
      }
      break;
    }
  }
}

absl::StatusOr<HeadResult> HeadResultFromProto(const v1::PredictorOutput& output) {
  HeadResult head;
  head.name = output.name();
  switch (output.result_case()) {
    case v1::PredictorOutput::kClassification:
      head.kind = HeadKind::kClassification;
      head.label = output.classification().label();
      head.label_score = output.classification().score();
      head.scores = ScoresFromProto(output.classification().scores());
      return head;
    case v1::PredictorOutput::kMultiLabel:
      head.kind = HeadKind::kMultiLabel;
      head.active_labels.assign(output.multi_label().active_labels().begin(),
                                output.multi_label().active_labels().end());
      head.scores = ScoresFromProto(output.multi_label().scores());
      head.threshold = output.multi_label().threshold();
      return head;
    case v1::PredictorOutput::kRegression:
      head.kind = HeadKind::kRegression;
      for (const v1::NamedValue& nv : output.regression().values()) {
        head.values.emplace_back(nv.name(), nv.value());
      }
      return head;
    case v1::PredictorOutput::kEmbedding:
      head.kind = HeadKind::kEmbedding;
      head.embedding.assign(output.embedding().values().begin(),
                            output.embedding().values().end());
      return head;
    case v1::PredictorOutput::kLandmarks:
      head.kind = HeadKind::kLandmarks;
      for (const v1::Point& p : output.landmarks().points()) head.points.push_back({p.x(), p.y()});
      return head;
    case v1::PredictorOutput::kLandmarks3D:
      head.kind = HeadKind::kLandmarks3d;
      for (const v1::Point3& p : output.landmarks_3d().points()) {
        head.points.push_back({p.x(), p.y()});
        head.depths.push_back(p.z());
      }
      return head;
    case v1::PredictorOutput::RESULT_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("PredictorOutput \"", output.name(), "\": result not set"));
}

void FaceToProto(const Face& face, bool return_embeddings, v1::Face* out) {
  BoxToProto(face.detection.box, out->mutable_box());
  out->set_detection_score(face.detection.score);
  out->set_truncated(face.detection.truncated);
  // landmarks5 is the pipeline's unified set; a detector's own five points
  // stand in when no other landmark source ran.
  const std::vector<Point>& five =
      !face.landmarks5.empty() || face.detection.landmarks.size() != 5 ? face.landmarks5
                                                                       : face.detection.landmarks;
  for (const Point& p : five) PointToProto(p, out->add_landmarks_5());
  for (const Point& p : face.landmarks68) PointToProto(p, out->add_landmarks_68());
  if (face.has_head_pose) {
    v1::HeadPose* pose = out->mutable_head_pose();
    pose->set_yaw_deg(face.head_pose.yaw_deg);
    pose->set_pitch_deg(face.head_pose.pitch_deg);
    pose->set_roll_deg(face.head_pose.roll_deg);
  }
  if (face.has_mesh_head_pose) {
    v1::HeadPose* pose = out->mutable_mesh_head_pose();
    pose->set_yaw_deg(face.mesh_head_pose.yaw_deg);
    pose->set_pitch_deg(face.mesh_head_pose.pitch_deg);
    pose->set_roll_deg(face.mesh_head_pose.roll_deg);
  }
  for (const Prediction& prediction : face.predictions) {
    PredictionToProto(prediction, return_embeddings, out->add_predictions());
  }
  out->set_detector_model(face.detector_model);
  out->set_crop_jpeg(face.crop_jpeg);
}

void PredictionToProto(const Prediction& prediction, bool return_embeddings,
                       v1::Prediction* out) {
  out->set_predictor(prediction.predictor);
  out->set_model(prediction.model);
  out->set_model_version(prediction.model_version);
  for (const HeadResult& head : prediction.heads) {
    if (head.kind == HeadKind::kEmbedding && !return_embeddings) continue;
    HeadResultToProto(head, out->add_outputs());
  }
}

void AnalyzeResultToProto(const AnalyzeResult& result, bool return_embeddings,
                          v1::AnalyzeResponse* out) {
  out->set_image_width_px(result.width);
  out->set_image_height_px(result.height);
  out->mutable_faces()->Reserve(static_cast<int>(result.faces.size()));
  for (const Face& face : result.faces) FaceToProto(face, return_embeddings, out->add_faces());
  TimingsToProto(result.timings, out->mutable_timings());
  out->set_annotated_jpeg(result.annotated_jpeg);
}

void EmbedResultToProto(const EmbedResult& result, v1::EmbedResponse* out) {
  out->mutable_faces()->Reserve(static_cast<int>(result.faces.size()));
  for (const FaceEmbedding& face : result.faces) {
    v1::FaceEmbedding* pf = out->add_faces();
    BoxToProto(face.box, pf->mutable_box());
    pf->set_detection_score(face.detection_score);
    pf->set_truncated(face.truncated);
    pf->mutable_embedding()->mutable_values()->Add(face.embedding.begin(), face.embedding.end());
  }
  out->set_model(result.model);
  out->set_model_version(result.model_version);
  TimingsToProto(result.timings, out->mutable_timings());
}

void VerifyResultToProto(const VerifyResult& result, v1::VerifyResponse* out) {
  out->set_similarity(result.similarity);
  out->set_match(result.match);
  out->set_threshold(result.threshold);
  out->set_model(result.model);
  out->set_model_version(result.model_version);
  if (result.box_a) BoxToProto(*result.box_a, out->mutable_box_a());
  if (result.box_b) BoxToProto(*result.box_b, out->mutable_box_b());
  TimingsToProto(result.timings, out->mutable_timings());
}

}  // namespace faceserve
