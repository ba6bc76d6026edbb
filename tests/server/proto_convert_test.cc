#include "server/proto_convert.h"

#include <cmath>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_pipeline.h"

namespace faceserve {
namespace {

using ::testing::HasSubstr;

MATCHER_P(IsInvalidArgumentWith, substring, "") {
  return arg.status().code() == absl::StatusCode::kInvalidArgument &&
         std::string(arg.status().message()).find(substring) != std::string::npos;
}

// ---------------------------------------------------------------------------
// Requests

TEST(ProtoConvertTest, EncodedImageIsCopied) {
  v1::Image image;
  image.set_encoded("\xff\xd8 jpeg");
  absl::StatusOr<ImageInput> in = ImageFromProto(image, "image");
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->encoded, "\xff\xd8 jpeg");
  EXPECT_FALSE(in->is_raw);
}

TEST(ProtoConvertTest, RawImageKeepsEveryField) {
  v1::Image image;
  v1::RawImage* raw = image.mutable_raw();
  raw->set_width_px(4);
  raw->set_height_px(2);
  raw->set_stride_bytes(16);
  raw->set_channel_order(v1::CHANNEL_ORDER_BGRA);
  raw->set_pixels(std::string(32, '\x7f'));
  absl::StatusOr<ImageInput> in = ImageFromProto(image, "image");
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_TRUE(in->is_raw);
  EXPECT_EQ(in->width, 4);
  EXPECT_EQ(in->height, 2);
  EXPECT_EQ(in->stride_bytes, 16);
  EXPECT_EQ(in->channel_order, ChannelOrder::kBgra);
  EXPECT_EQ(in->pixels, std::string(32, '\x7f'));
  EXPECT_TRUE(in->encoded.empty());
}

TEST(ProtoConvertTest, EveryChannelOrderMaps) {
  EXPECT_EQ(*ChannelOrderFromProto(v1::CHANNEL_ORDER_UNSPECIFIED, "f"), ChannelOrder::kUnspecified);
  EXPECT_EQ(*ChannelOrderFromProto(v1::CHANNEL_ORDER_RGB, "f"), ChannelOrder::kRgb);
  EXPECT_EQ(*ChannelOrderFromProto(v1::CHANNEL_ORDER_BGR, "f"), ChannelOrder::kBgr);
  EXPECT_EQ(*ChannelOrderFromProto(v1::CHANNEL_ORDER_RGBA, "f"), ChannelOrder::kRgba);
  EXPECT_EQ(*ChannelOrderFromProto(v1::CHANNEL_ORDER_BGRA, "f"), ChannelOrder::kBgra);
  EXPECT_EQ(*ChannelOrderFromProto(v1::CHANNEL_ORDER_GRAY, "f"), ChannelOrder::kGray);
}

TEST(ProtoConvertTest, UnsetImageIsRejectedWithTheFieldName) {
  v1::AnalyzeRequest request;
  EXPECT_THAT(AnalyzeCallFromProto(request), IsInvalidArgumentWith("image: not set"));
}

TEST(ProtoConvertTest, EmptyEncodedImageIsRejected) {
  v1::AnalyzeRequest request;
  request.mutable_image()->set_encoded("");
  EXPECT_THAT(AnalyzeCallFromProto(request), IsInvalidArgumentWith("image.encoded: empty"));
}

TEST(ProtoConvertTest, UnknownChannelOrderIsRejected) {
  v1::AnalyzeRequest request;
  request.mutable_image()->mutable_raw()->set_channel_order(static_cast<v1::ChannelOrder>(42));
  EXPECT_THAT(AnalyzeCallFromProto(request),
              IsInvalidArgumentWith("image.raw.channel_order: unknown ChannelOrder value 42"));
}

TEST(ProtoConvertTest, AnalyzeOptionsAreCopied) {
  v1::AnalyzeRequest request;
  request.mutable_image()->set_encoded("x");
  v1::AnalyzeOptions* o = request.mutable_options();
  o->add_predictors("age_gender");
  o->add_predictors("expression");
  o->set_min_detection_score(0.7f);
  o->set_max_faces(3);
  o->set_return_embeddings(true);
  o->set_return_annotated_image(true);
  o->set_return_face_crops(true);
  absl::StatusOr<AnalyzeCall> call = AnalyzeCallFromProto(request);
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_THAT(call->options.predictors, ::testing::ElementsAre("age_gender", "expression"));
  EXPECT_FLOAT_EQ(call->options.min_detection_score, 0.7f);
  EXPECT_EQ(call->options.max_faces, 3);
  EXPECT_TRUE(call->options.return_embeddings);
  EXPECT_TRUE(call->options.return_annotated_image);
  EXPECT_TRUE(call->options.return_face_crops);
}

TEST(ProtoConvertTest, DefaultAnalyzeOptionsMeanConfiguredDefaults) {
  absl::StatusOr<AnalyzeOptions> o = AnalyzeOptionsFromProto(v1::AnalyzeOptions());
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->predictors.empty());
  EXPECT_EQ(o->min_detection_score, 0.0f);
  EXPECT_EQ(o->max_faces, 0);
  EXPECT_FALSE(o->return_embeddings);
}

TEST(ProtoConvertTest, NegativeMaxFacesIsRejected) {
  v1::AnalyzeOptions o;
  o.set_max_faces(-1);
  EXPECT_THAT(AnalyzeOptionsFromProto(o), IsInvalidArgumentWith("options.max_faces"));
}

TEST(ProtoConvertTest, MinDetectionScoreOutsideUnitIntervalOrNanIsRejected) {
  for (float bad : {-0.1f, 1.5f, std::numeric_limits<float>::quiet_NaN(),
                    std::numeric_limits<float>::infinity()}) {
    v1::AnalyzeOptions o;
    o.set_min_detection_score(bad);
    EXPECT_THAT(AnalyzeOptionsFromProto(o), IsInvalidArgumentWith("options.min_detection_score"))
        << bad;
  }
  v1::AnalyzeOptions edge;
  edge.set_min_detection_score(1.0f);
  EXPECT_TRUE(AnalyzeOptionsFromProto(edge).ok());
}

TEST(ProtoConvertTest, EmbedSelectionDefaultsToAll) {
  v1::EmbedRequest request;
  request.mutable_image()->set_encoded("x");
  request.set_predictor("recognition");
  absl::StatusOr<EmbedCall> call = EmbedCallFromProto(request);
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->options.selection, FaceSelection::kAll);
  EXPECT_EQ(call->options.predictor, "recognition");
  request.set_selection(v1::FACE_SELECTION_WHOLE_IMAGE);
  EXPECT_EQ(EmbedCallFromProto(request)->options.selection, FaceSelection::kWholeImage);
  request.set_selection(v1::FACE_SELECTION_LARGEST);
  EXPECT_EQ(EmbedCallFromProto(request)->options.selection, FaceSelection::kLargest);
}

TEST(ProtoConvertTest, UnknownSelectionIsRejected) {
  v1::EmbedRequest request;
  request.mutable_image()->set_encoded("x");
  request.set_selection(static_cast<v1::FaceSelection>(9));
  EXPECT_THAT(EmbedCallFromProto(request),
              IsInvalidArgumentWith("selection: unknown FaceSelection value 9"));
}

TEST(ProtoConvertTest, VerifyConvertsBothSides) {
  v1::VerifyRequest request;
  request.mutable_a()->mutable_image()->set_encoded("x");
  request.mutable_b()->mutable_embedding()->add_values(0.6f);
  request.mutable_b()->mutable_embedding()->add_values(0.8f);
  request.set_predictor("recognition");
  request.set_threshold(0.5f);
  absl::StatusOr<VerifyCall> call = VerifyCallFromProto(request);
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_FALSE(call->a.is_embedding);
  EXPECT_EQ(call->a.image.encoded, "x");
  EXPECT_EQ(call->a.selection, FaceSelection::kLargest);
  EXPECT_TRUE(call->b.is_embedding);
  EXPECT_THAT(call->b.embedding, ::testing::ElementsAre(0.6f, 0.8f));
  EXPECT_EQ(call->options.predictor, "recognition");
  EXPECT_FLOAT_EQ(call->options.threshold, 0.5f);
}

TEST(ProtoConvertTest, VerifyWithASideUnsetIsRejected) {
  v1::VerifyRequest request;
  request.mutable_a()->mutable_image()->set_encoded("x");
  EXPECT_THAT(VerifyCallFromProto(request), IsInvalidArgumentWith("b: not set"));
  request.clear_a();
  EXPECT_THAT(VerifyCallFromProto(request), IsInvalidArgumentWith("a: not set"));
}

TEST(ProtoConvertTest, VerifyImageSideWithoutImageSourceIsRejected) {
  v1::VerifyRequest request;
  request.mutable_a()->mutable_image();  // set, but empty
  request.mutable_b()->mutable_embedding()->add_values(1);
  EXPECT_THAT(VerifyCallFromProto(request), IsInvalidArgumentWith("a.image: not set"));
}

TEST(ProtoConvertTest, VerifyNonFiniteEmbeddingIsRejected) {
  v1::VerifyRequest request;
  request.mutable_a()->mutable_embedding()->add_values(1);
  request.mutable_b()->mutable_embedding()->add_values(0.5f);
  request.mutable_b()->mutable_embedding()->add_values(std::nanf(""));
  EXPECT_THAT(VerifyCallFromProto(request), IsInvalidArgumentWith("b.embedding.values[1]"));
}

TEST(ProtoConvertTest, VerifySelectionAllIsRejected) {
  v1::VerifyRequest request;
  request.mutable_a()->mutable_image()->set_encoded("x");
  request.mutable_a()->set_selection(v1::FACE_SELECTION_ALL);
  request.mutable_b()->mutable_embedding()->add_values(1);
  EXPECT_THAT(VerifyCallFromProto(request), IsInvalidArgumentWith("a.selection"));
}

TEST(ProtoConvertTest, VerifyThresholdOutsideCosineRangeIsRejected) {
  v1::VerifyRequest request;
  request.mutable_a()->mutable_embedding()->add_values(1);
  request.mutable_b()->mutable_embedding()->add_values(1);
  for (float bad : {std::nanf(""), 1.5f, -2.0f}) {
    request.set_threshold(bad);
    EXPECT_THAT(VerifyCallFromProto(request), IsInvalidArgumentWith("threshold")) << bad;
  }
}

// ---------------------------------------------------------------------------
// Responses

HeadResult HeadOfKind(HeadKind kind) {
  const Face face = testing::CannedFace();
  for (const Prediction& p : face.predictions) {
    for (const HeadResult& h : p.heads) {
      if (h.kind == kind) return h;
    }
  }
  ADD_FAILURE() << "no canned head of kind " << static_cast<int>(kind);
  return {};
}

class HeadRoundTripTest
    : public ::testing::TestWithParam<std::pair<HeadKind, v1::PredictorOutput::ResultCase>> {};

TEST_P(HeadRoundTripTest, EveryHeadKindFillsItsOneofAndRoundTrips) {
  const auto [kind, expected_case] = GetParam();
  const HeadResult head = HeadOfKind(kind);
  v1::PredictorOutput out;
  HeadResultToProto(head, &out);
  EXPECT_EQ(out.result_case(), expected_case);
  EXPECT_EQ(out.name(), head.name);

  absl::StatusOr<HeadResult> back = HeadResultFromProto(out);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->name, head.name);
  EXPECT_EQ(back->kind, head.kind);
  EXPECT_EQ(back->label, head.label);
  EXPECT_EQ(back->label_score, head.label_score);
  ASSERT_EQ(back->scores.size(), head.scores.size());
  for (size_t i = 0; i < head.scores.size(); ++i) {
    EXPECT_EQ(back->scores[i].label, head.scores[i].label);
    EXPECT_EQ(back->scores[i].score, head.scores[i].score);
  }
  EXPECT_EQ(back->active_labels, head.active_labels);
  EXPECT_EQ(back->threshold, head.threshold);
  EXPECT_EQ(back->values, head.values);
  EXPECT_EQ(back->embedding, head.embedding);
  ASSERT_EQ(back->points.size(), head.points.size());
  for (size_t i = 0; i < head.points.size(); ++i) {
    EXPECT_EQ(back->points[i].x, head.points[i].x);
    EXPECT_EQ(back->points[i].y, head.points[i].y);
  }
  EXPECT_EQ(back->depths, head.depths);
}

INSTANTIATE_TEST_SUITE_P(
    AllKinds, HeadRoundTripTest,
    ::testing::Values(
        std::make_pair(HeadKind::kClassification, v1::PredictorOutput::kClassification),
        std::make_pair(HeadKind::kMultiLabel, v1::PredictorOutput::kMultiLabel),
        std::make_pair(HeadKind::kRegression, v1::PredictorOutput::kRegression),
        std::make_pair(HeadKind::kEmbedding, v1::PredictorOutput::kEmbedding),
        std::make_pair(HeadKind::kLandmarks, v1::PredictorOutput::kLandmarks),
        std::make_pair(HeadKind::kLandmarks3d, v1::PredictorOutput::kLandmarks3D)),
    [](const ::testing::TestParamInfo<HeadRoundTripTest::ParamType>& info) {
      switch (info.param.first) {
        case HeadKind::kClassification:
          return std::string("Classification");
        case HeadKind::kMultiLabel:
          return std::string("MultiLabel");
        case HeadKind::kRegression:
          return std::string("Regression");
        case HeadKind::kEmbedding:
          return std::string("Embedding");
        case HeadKind::kLandmarks:
          return std::string("Landmarks");
        case HeadKind::kLandmarks3d:
          return std::string("Landmarks3d");
      }
      return std::string("Unknown");
    });

TEST(ProtoConvertTest, ClassificationFieldsLandWhereTheProtoSays) {
  v1::PredictorOutput out;
  HeadResultToProto(HeadOfKind(HeadKind::kClassification), &out);
  EXPECT_EQ(out.classification().label(), "happy");
  EXPECT_FLOAT_EQ(out.classification().score(), 0.8f);
  ASSERT_EQ(out.classification().scores_size(), 3);
  EXPECT_EQ(out.classification().scores(1).label(), "happy");
}

TEST(ProtoConvertTest, PredictorOutputWithoutResultIsRejected) {
  v1::PredictorOutput out;
  out.set_name("x");
  EXPECT_EQ(HeadResultFromProto(out).status().code(), absl::StatusCode::kInvalidArgument);
}

int CountEmbeddingOutputs(const v1::Face& face) {
  int n = 0;
  for (const v1::Prediction& p : face.predictions()) {
    for (const v1::PredictorOutput& o : p.outputs()) n += o.has_embedding();
  }
  return n;
}

TEST(ProtoConvertTest, FaceCarriesEverythingAndEmbeddingsOnlyWhenAsked) {
  Face face = testing::CannedFace();
  face.crop_jpeg = "crop";
  v1::Face without;
  FaceToProto(face, /*return_embeddings=*/false, &without);
  EXPECT_FLOAT_EQ(without.box().x1(), face.detection.box.x1);
  EXPECT_FLOAT_EQ(without.box().y2(), face.detection.box.y2);
  EXPECT_FLOAT_EQ(without.detection_score(), 0.98f);
  EXPECT_EQ(without.landmarks_5_size(), 5);
  EXPECT_EQ(without.landmarks_68_size(), 68);
  EXPECT_EQ(without.detector_model(), face.detector_model);
  EXPECT_EQ(without.crop_jpeg(), "crop");
  ASSERT_EQ(without.predictions_size(), 6);
  EXPECT_EQ(without.predictions(0).predictor(), "expression");
  EXPECT_EQ(without.predictions(0).model(), "face_expression");
  EXPECT_EQ(without.predictions(0).model_version(), "1.0.0");
  EXPECT_EQ(CountEmbeddingOutputs(without), 0);
  EXPECT_FALSE(without.has_mesh_head_pose());

  face.mesh_head_pose = HeadPose{12.5f, -3.0f, 0.5f};
  face.has_mesh_head_pose = true;
  FaceToProto(face, /*return_embeddings=*/false, &without);
  ASSERT_TRUE(without.has_mesh_head_pose());
  EXPECT_FLOAT_EQ(without.mesh_head_pose().yaw_deg(), 12.5f);
  EXPECT_FLOAT_EQ(without.mesh_head_pose().pitch_deg(), -3.0f);
  EXPECT_FLOAT_EQ(without.mesh_head_pose().roll_deg(), 0.5f);

  v1::Face with;
  FaceToProto(face, /*return_embeddings=*/true, &with);
  EXPECT_EQ(CountEmbeddingOutputs(with), 1);
}

TEST(ProtoConvertTest, DetectorLandmarksStandInForMissingFivePoints) {
  Face face;
  face.detection.landmarks = {{1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5}};
  v1::Face out;
  FaceToProto(face, false, &out);
  ASSERT_EQ(out.landmarks_5_size(), 5);
  EXPECT_FLOAT_EQ(out.landmarks_5(4).x(), 5);
}

TEST(ProtoConvertTest, AnalyzeResultToProto) {
  AnalyzeResult result = testing::CannedAnalyzeResult();
  result.annotated_jpeg = "annotated";
  v1::AnalyzeResponse out;
  AnalyzeResultToProto(result, false, &out);
  EXPECT_EQ(out.image_width_px(), 640);
  EXPECT_EQ(out.image_height_px(), 480);
  EXPECT_EQ(out.faces_size(), 2);
  EXPECT_FLOAT_EQ(out.faces(1).detection_score(), 0.75f);
  ASSERT_EQ(out.timings_size(), 3);
  EXPECT_EQ(out.timings(1).stage(), "detector");
  EXPECT_DOUBLE_EQ(out.timings(1).seconds(), 0.01);
  EXPECT_EQ(out.annotated_jpeg(), "annotated");
}

TEST(ProtoConvertTest, EmbedResultToProto) {
  v1::EmbedResponse out;
  EmbedResultToProto(testing::CannedEmbedResult(), &out);
  ASSERT_EQ(out.faces_size(), 1);
  EXPECT_FLOAT_EQ(out.faces(0).box().x2(), 110);
  EXPECT_FLOAT_EQ(out.faces(0).detection_score(), 0.98f);
  ASSERT_EQ(out.faces(0).embedding().values_size(), 128);
  EXPECT_EQ(out.faces(0).embedding().values(1), 1.0f);
  EXPECT_EQ(out.model(), "face_recognition");
  EXPECT_EQ(out.model_version(), "1.0.0");
  EXPECT_EQ(out.timings_size(), 2);
}

TEST(ProtoConvertTest, VerifyResultToProtoLeavesMissingBoxesUnset) {
  v1::VerifyResponse out;
  VerifyResultToProto(testing::CannedVerifyResult(), &out);
  EXPECT_FLOAT_EQ(out.similarity(), 0.83f);
  EXPECT_TRUE(out.match());
  EXPECT_FLOAT_EQ(out.threshold(), 0.6f);
  EXPECT_EQ(out.model(), "face_recognition");
  EXPECT_TRUE(out.has_box_a());
  EXPECT_FLOAT_EQ(out.box_a().x2(), 3);
  EXPECT_FALSE(out.has_box_b());
  EXPECT_EQ(out.timings_size(), 1);
}

}  // namespace
}  // namespace faceserve
