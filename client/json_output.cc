#include "client/json_output.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace faceserve::client {

namespace v1 = faceserve::v1;

std::string ToJsonLine(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

double CleanFloat(float value) {
  if (!std::isfinite(value)) return value;
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof(buf) - 1, value);
  *result.ptr = '\0';
  return std::strtod(buf, nullptr);
}

Json BoxToJson(const v1::Box& box) {
  return Json::array(
      {CleanFloat(box.x1()), CleanFloat(box.y1()), CleanFloat(box.x2()), CleanFloat(box.y2())});
}

Json PointsToJson(const google::protobuf::RepeatedPtrField<v1::Point>& points) {
  Json out = Json::array();
  for (const v1::Point& p : points) out.push_back(Json::array({CleanFloat(p.x()), CleanFloat(p.y())}));
  return out;
}

Json TimingsToJson(const google::protobuf::RepeatedPtrField<v1::StageTiming>& timings) {
  Json out = Json::object();
  for (const v1::StageTiming& t : timings) out[t.stage()] = t.seconds();
  return out;
}

namespace {

Json ScoresToJson(const google::protobuf::RepeatedPtrField<v1::ClassScore>& scores) {
  Json out = Json::object();
  for (const v1::ClassScore& s : scores) out[s.label()] = CleanFloat(s.score());
  return out;
}

Json EmbeddingValues(const v1::Embedding& embedding) {
  Json out = Json::array();
  for (float v : embedding.values()) out.push_back(CleanFloat(v));
  return out;
}

}  // namespace

Json PredictorOutputToJson(const v1::PredictorOutput& output, bool include_embeddings) {
  Json out = Json::object();
  switch (output.result_case()) {
    case v1::PredictorOutput::kClassification: {
      const auto& c = output.classification();
      out["label"] = c.label();
      out["score"] = CleanFloat(c.score());
      out["scores"] = ScoresToJson(c.scores());
      break;
    }
    case v1::PredictorOutput::kMultiLabel: {
      const auto& m = output.multi_label();
      out["active"] = Json::array();
      for (const std::string& label : m.active_labels()) out["active"].push_back(label);
      out["scores"] = ScoresToJson(m.scores());
      out["threshold"] = CleanFloat(m.threshold());
      break;
    }
    case v1::PredictorOutput::kRegression:
      for (const v1::NamedValue& v : output.regression().values()) {
        out[v.name()] = CleanFloat(v.value());
      }
      break;
    case v1::PredictorOutput::kEmbedding:
      if (include_embeddings) out["embedding"] = EmbeddingValues(output.embedding());
      break;
    case v1::PredictorOutput::kLandmarks:
      out["points"] = PointsToJson(output.landmarks().points());
      break;
    case v1::PredictorOutput::kLandmarks3D: {
      Json points = Json::array();
      for (const v1::Point3& p : output.landmarks_3d().points()) {
        points.push_back(Json::array({CleanFloat(p.x()), CleanFloat(p.y()), CleanFloat(p.z())}));
      }
      out["points_3d"] = std::move(points);
      break;
    }
    case v1::PredictorOutput::RESULT_NOT_SET:
      break;
  }
  return out;
}

Json PredictionToJson(const v1::Prediction& prediction, bool include_embeddings) {
  Json out = Json::object();
  // The shape depends on the number of heads, never on include_embeddings, so
  // that a consumer sees the same structure with or without --embeddings.
  if (prediction.outputs_size() == 1) {
    out = PredictorOutputToJson(prediction.outputs(0), include_embeddings);
  } else {
    for (int i = 0; i < prediction.outputs_size(); ++i) {
      const v1::PredictorOutput& head = prediction.outputs(i);
      if (head.result_case() == v1::PredictorOutput::kEmbedding && !include_embeddings) continue;
      const std::string name = head.name().empty() ? absl::StrCat("output", i) : head.name();
      out[name] = PredictorOutputToJson(head, include_embeddings);
    }
  }
  out["model"] = prediction.model();
  if (!prediction.model_version().empty()) out["model_version"] = prediction.model_version();
  return out;
}

void IdentityIntoJson(const v1::Identity& identity, Json* face) {
  Json matches = Json::array();
  for (const v1::SubjectMatch& m : identity.matches()) {
    matches.push_back(Json{{"subject", m.subject()},
                           {"face_id", m.face_id()},
                           {"similarity", CleanFloat(m.similarity())}});
  }
  (*face)["matches"] = std::move(matches);
  (*face)["identified"] = identity.identified();
  (*face)["threshold"] = CleanFloat(identity.threshold());
}

Json IdentifyResponseToJson(const std::string& image_path,
                            const v1::IdentifyResponse& response) {
  Json out = Json::object();
  out["image"] = image_path;
  out["gallery"] = response.gallery();
  Json faces = Json::array();
  for (const v1::IdentifiedFace& face : response.faces()) {
    Json f = Json::object();
    f["box"] = BoxToJson(face.box());
    f["score"] = CleanFloat(face.detection_score());
    f["truncated"] = face.truncated();
    IdentityIntoJson(face.identity(), &f);
    faces.push_back(std::move(f));
  }
  out["faces"] = std::move(faces);
  out["timings"] = TimingsToJson(response.timings());
  return out;
}

Json FaceToJson(const v1::Face& face, bool include_embeddings) {
  Json f = Json::object();
  f["box"] = BoxToJson(face.box());
  f["score"] = CleanFloat(face.detection_score());
  f["truncated"] = face.truncated();
  f["landmarks"] = PointsToJson(face.landmarks_5());
  if (face.landmarks_68_size() > 0) f["landmarks_68"] = PointsToJson(face.landmarks_68());
  const auto pose_json = [](const v1::HeadPose& pose) {
    return Json{{"yaw_deg", CleanFloat(pose.yaw_deg())},
                {"pitch_deg", CleanFloat(pose.pitch_deg())},
                {"roll_deg", CleanFloat(pose.roll_deg())}};
  };
  if (face.has_head_pose()) f["head_pose"] = pose_json(face.head_pose());
  if (face.has_mesh_head_pose()) f["mesh_head_pose"] = pose_json(face.mesh_head_pose());
  Json predictions = Json::object();
  for (const v1::Prediction& p : face.predictions()) {
    predictions[p.predictor()] = PredictionToJson(p, include_embeddings);
  }
  f["predictions"] = std::move(predictions);
  if (face.has_identity()) IdentityIntoJson(face.identity(), &f);
  return f;
}

Json AnalyzeResponseToJson(const std::string& image_path, const v1::AnalyzeResponse& response,
                           const AnalyzeJsonOptions& options) {
  Json out = Json::object();
  out["image"] = image_path;
  out["width"] = response.image_width_px();
  out["height"] = response.image_height_px();
  Json faces = Json::array();
  for (int i = 0; i < response.faces_size(); ++i) {
    Json f = FaceToJson(response.faces(i), options.include_embeddings);
    if (static_cast<size_t>(i) < options.crop_paths.size() && !options.crop_paths[i].empty()) {
      f["crop"] = options.crop_paths[i];
    }
    faces.push_back(std::move(f));
  }
  out["faces"] = std::move(faces);
  out["timings"] = TimingsToJson(response.timings());
  if (!options.annotated_path.empty()) out["annotated"] = options.annotated_path;
  return out;
}

const char* TrackEventName(v1::TrackEventKind kind) {
  switch (kind) {
    case v1::TRACK_STARTED: return "started";
    case v1::TRACK_LOST: return "lost";
    case v1::TRACK_RELINKED: return "relinked";
    case v1::TRACK_ENDED: return "ended";
    case v1::TRACK_IDENTIFIED: return "identified";
    default: return "unspecified";
  }
}

Json TrackIdentityToJson(const v1::TrackIdentity& identity) {
  return Json{{"subject", identity.subject()},
              {"similarity", CleanFloat(identity.similarity())},
              {"votes", identity.votes()},
              {"window", identity.window()},
              {"threshold", CleanFloat(identity.threshold())}};
}

namespace {

Json SmoothedToJson(const google::protobuf::RepeatedPtrField<v1::Prediction>& smoothed) {
  Json out = Json::object();
  for (const v1::Prediction& p : smoothed) out[p.predictor()] = PredictionToJson(p, false);
  return out;
}

}  // namespace

Json TrackSummaryToJson(const v1::TrackSummary& summary) {
  Json out = Json::object();
  out["detected_frames"] = summary.detected_frames();
  if (summary.has_best_shot()) {
    const v1::BestShot& shot = summary.best_shot();
    Json b{{"frame", shot.sequence()},
           {"time_s", static_cast<double>(shot.timestamp_us()) / 1e6},
           {"box", BoxToJson(shot.box())},
           {"quality", CleanFloat(shot.quality())}};
    if (!shot.crop_jpeg().empty()) b["crop_bytes"] = shot.crop_jpeg().size();
    out["best_shot"] = std::move(b);
  }
  if (summary.smoothed_predictions_size() > 0) {
    out["smoothed"] = SmoothedToJson(summary.smoothed_predictions());
  }
  if (summary.has_identity()) out["identity"] = TrackIdentityToJson(summary.identity());
  return out;
}

Json StreamResponseToJson(const v1::StreamResponse& response, bool include_embeddings) {
  Json out = Json::object();
  out["frame"] = response.sequence();
  out["time_s"] = static_cast<double>(response.timestamp_us()) / 1e6;
  if (response.end_of_stream()) out["end_of_stream"] = true;
  out["detected"] = response.detected();
  if (response.detected()) {
    out["width"] = response.image_width_px();
    out["height"] = response.image_height_px();
  }
  Json faces = Json::array();
  for (const v1::TrackedFace& tracked : response.faces()) {
    Json f = Json::object();
    f["track_id"] = tracked.track_id();
    if (response.detected() && tracked.face().detection_score() > 0) {
      f.update(FaceToJson(tracked.face(), include_embeddings));
    } else {
      f["box"] = BoxToJson(tracked.face().box());
      f["predicted"] = true;
    }
    if (tracked.has_identity()) f["track_identity"] = TrackIdentityToJson(tracked.identity());
    if (tracked.smoothed_predictions_size() > 0) {
      f["smoothed"] = SmoothedToJson(tracked.smoothed_predictions());
    }
    faces.push_back(std::move(f));
  }
  out["faces"] = std::move(faces);
  Json events = Json::array();
  for (const v1::TrackEvent& e : response.events()) {
    Json event{{"track_id", e.track_id()}, {"event", TrackEventName(e.kind())}};
    if (e.has_identity()) event["identity"] = TrackIdentityToJson(e.identity());
    if (e.has_summary()) event["summary"] = TrackSummaryToJson(e.summary());
    events.push_back(std::move(event));
  }
  out["events"] = std::move(events);
  if (response.skipped_sequences_size() > 0) {
    out["skipped"] = Json(std::vector<int64_t>(response.skipped_sequences().begin(),
                                               response.skipped_sequences().end()));
  }
  return out;
}

Json EmbedResponseToJson(const std::string& image_path, const v1::EmbedResponse& response) {
  Json out = Json::object();
  out["image"] = image_path;
  Json faces = Json::array();
  for (const v1::FaceEmbedding& face : response.faces()) {
    Json f = Json::object();
    f["box"] = BoxToJson(face.box());
    f["score"] = CleanFloat(face.detection_score());
    f["truncated"] = face.truncated();
    f["embedding"] = EmbeddingValues(face.embedding());
    faces.push_back(std::move(f));
  }
  out["faces"] = std::move(faces);
  out["model"] = response.model();
  if (!response.model_version().empty()) out["model_version"] = response.model_version();
  out["timings"] = TimingsToJson(response.timings());
  return out;
}

Json VerifyResponseToJson(const v1::VerifyResponse& response) {
  Json out = Json::object();
  out["similarity"] = CleanFloat(response.similarity());
  out["match"] = response.match();
  out["threshold"] = CleanFloat(response.threshold());
  out["model"] = response.model();
  if (!response.model_version().empty()) out["model_version"] = response.model_version();
  if (response.has_box_a()) out["box_a"] = BoxToJson(response.box_a());
  if (response.has_box_b()) out["box_b"] = BoxToJson(response.box_b());
  out["timings"] = TimingsToJson(response.timings());
  return out;
}

}  // namespace faceserve::client
