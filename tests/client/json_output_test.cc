#include "client/json_output.h"

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace faceserve::client {
namespace {

namespace v1 = faceserve::v1;

void AddPoint(google::protobuf::RepeatedPtrField<v1::Point>* points, float x, float y) {
  v1::Point* p = points->Add();
  p->set_x(x);
  p->set_y(y);
}

// One face with: expression (single classification head), age_gender (two
// heads: regression + classification), descriptor (single embedding head),
// action_units (multi-label), landmarks68 (landmarks head).
v1::AnalyzeResponse HandBuiltResponse() {
  v1::AnalyzeResponse r;
  r.set_image_width_px(640);
  r.set_image_height_px(480);
  v1::Face* face = r.add_faces();
  face->mutable_box()->set_x1(10.5f);
  face->mutable_box()->set_y1(20);
  face->mutable_box()->set_x2(110);
  face->mutable_box()->set_y2(140.25f);
  face->set_detection_score(0.97f);
  for (int i = 0; i < 5; ++i) AddPoint(face->mutable_landmarks_5(), 30.0f + i, 40.0f + i);

  v1::Prediction* expression = face->add_predictions();
  expression->set_predictor("expression");
  expression->set_model("face_expression");
  expression->set_model_version("1.7.15");
  v1::Classification* c = expression->add_outputs()->mutable_classification();
  expression->mutable_outputs(0)->set_name("expression");
  c->set_label("happy");
  c->set_score(0.9f);
  for (auto [label, score] : {std::pair{"neutral", 0.05f}, {"happy", 0.9f}, {"sad", 0.05f}}) {
    v1::ClassScore* s = c->add_scores();
    s->set_label(label);
    s->set_score(score);
  }

  v1::Prediction* age_gender = face->add_predictions();
  age_gender->set_predictor("age_gender");
  age_gender->set_model("age_gender_net");
  v1::PredictorOutput* age = age_gender->add_outputs();
  age->set_name("age");
  v1::NamedValue* v = age->mutable_regression()->add_values();
  v->set_name("age_years");
  v->set_value(31.2f);
  v1::PredictorOutput* gender = age_gender->add_outputs();
  gender->set_name("gender");
  gender->mutable_classification()->set_label("female");
  gender->mutable_classification()->set_score(0.8f);

  v1::Prediction* descriptor = face->add_predictions();
  descriptor->set_predictor("descriptor");
  descriptor->set_model("face_recognition");
  v1::PredictorOutput* e = descriptor->add_outputs();
  e->set_name("embedding");
  for (float x : {0.6f, 0.8f}) e->mutable_embedding()->add_values(x);

  v1::Prediction* au = face->add_predictions();
  au->set_predictor("action_units");
  au->set_model("au_net");
  v1::MultiLabel* m = au->add_outputs()->mutable_multi_label();
  m->add_active_labels("AU12");
  m->set_threshold(0.5f);
  for (auto [label, score] : {std::pair{"AU01", 0.1f}, {"AU12", 0.7f}}) {
    v1::ClassScore* s = m->add_scores();
    s->set_label(label);
    s->set_score(score);
  }

  v1::Prediction* lm = face->add_predictions();
  lm->set_predictor("landmarks68");
  lm->set_model("face_landmark_68");
  AddPoint(lm->add_outputs()->mutable_landmarks()->mutable_points(), 1, 2);

  v1::Prediction* mesh = face->add_predictions();
  mesh->set_predictor("facemesh");
  v1::Point3* p3 = mesh->add_outputs()->mutable_landmarks_3d()->add_points();
  p3->set_x(3);
  p3->set_y(4.5f);
  p3->set_z(-2.25f);
  v1::HeadPose* pose = face->mutable_mesh_head_pose();
  pose->set_yaw_deg(12.5f);
  pose->set_pitch_deg(-3);
  pose->set_roll_deg(0.5f);

  v1::StageTiming* t = r.add_timings();
  t->set_stage("detector");
  t->set_seconds(0.012);
  return r;
}

TEST(JsonOutputTest, AnalyzeResponseHasTheDocumentedStructure) {
  const nlohmann::json j =
      nlohmann::json::parse(AnalyzeResponseToJson("a.jpg", HandBuiltResponse()).dump());
  EXPECT_EQ(j["image"], "a.jpg");
  EXPECT_EQ(j["width"], 640);
  EXPECT_EQ(j["height"], 480);
  ASSERT_EQ(j["faces"].size(), 1u);
  const nlohmann::json& f = j["faces"][0];
  EXPECT_EQ(f["box"], nlohmann::json::parse("[10.5, 20, 110, 140.25]"));
  EXPECT_EQ(f["score"].get<double>(), 0.97);  // shortest form, not 0.9700000286
  ASSERT_EQ(f["landmarks"].size(), 5u);
  EXPECT_EQ(f["landmarks"][4], nlohmann::json::parse("[34, 44]"));
  EXPECT_FALSE(f.contains("landmarks_68"));
  EXPECT_FALSE(f.contains("crop"));

  const nlohmann::json& p = f["predictions"];
  // Single head: its fields directly.
  EXPECT_EQ(p["expression"]["label"], "happy");
  EXPECT_EQ(p["expression"]["score"].get<double>(), 0.9);
  EXPECT_EQ(p["expression"]["scores"]["neutral"].get<double>(), 0.05);
  EXPECT_EQ(p["expression"]["model"], "face_expression");
  EXPECT_EQ(p["expression"]["model_version"], "1.7.15");
  // Several heads: one key per head.
  EXPECT_EQ(p["age_gender"]["age"]["age_years"].get<double>(), 31.2);
  EXPECT_EQ(p["age_gender"]["gender"]["label"], "female");
  EXPECT_EQ(p["age_gender"]["model"], "age_gender_net");
  EXPECT_FALSE(p["age_gender"].contains("model_version"));
  // Embeddings only when asked for.
  EXPECT_FALSE(p["descriptor"].contains("embedding"));
  EXPECT_EQ(p["descriptor"]["model"], "face_recognition");
  EXPECT_EQ(p["action_units"]["active"], nlohmann::json::parse(R"(["AU12"])"));
  EXPECT_EQ(p["action_units"]["scores"]["AU12"].get<double>(), 0.7);
  EXPECT_EQ(p["landmarks68"]["points"], nlohmann::json::parse("[[1, 2]]"));
  EXPECT_EQ(p["facemesh"]["points_3d"], nlohmann::json::parse("[[3, 4.5, -2.25]]"));
  EXPECT_FALSE(f.contains("head_pose"));
  EXPECT_EQ(f["mesh_head_pose"],
            nlohmann::json::parse(R"({"yaw_deg": 12.5, "pitch_deg": -3, "roll_deg": 0.5})"));

  EXPECT_DOUBLE_EQ(j["timings"]["detector"].get<double>(), 0.012);
  EXPECT_FALSE(j.contains("annotated"));
}

TEST(JsonOutputTest, EmbeddingsCropsAndAnnotatedPathWhenRequested) {
  v1::AnalyzeResponse r = HandBuiltResponse();
  AddPoint(r.mutable_faces(0)->mutable_landmarks_68(), 5, 6);
  AnalyzeJsonOptions options;
  options.include_embeddings = true;
  options.crop_paths = {"crops/a_face0.jpg"};
  options.annotated_path = "out.jpg";
  const nlohmann::json j = nlohmann::json::parse(AnalyzeResponseToJson("a.jpg", r, options).dump());
  const nlohmann::json& f = j["faces"][0];
  EXPECT_EQ(f["predictions"]["descriptor"]["embedding"], nlohmann::json::parse("[0.6, 0.8]"));
  EXPECT_EQ(f["landmarks_68"], nlohmann::json::parse("[[5, 6]]"));
  EXPECT_EQ(f["crop"], "crops/a_face0.jpg");
  EXPECT_EQ(j["annotated"], "out.jpg");
}

TEST(JsonOutputTest, KeysKeepTheDocumentedOrder) {
  const std::string text = AnalyzeResponseToJson("a.jpg", HandBuiltResponse()).dump();
  EXPECT_EQ(text.rfind(R"({"image":"a.jpg","width":640,"height":480,"faces":[{"box":)", 0), 0u)
      << text;
}

TEST(JsonOutputTest, EmbedAndVerifyResponses) {
  v1::EmbedResponse e;
  e.set_model("face_recognition");
  v1::FaceEmbedding* fe = e.add_faces();
  fe->mutable_box()->set_x2(150);
  fe->mutable_box()->set_y2(150);
  fe->mutable_embedding()->add_values(1);
  const nlohmann::json je = nlohmann::json::parse(EmbedResponseToJson("c.jpg", e).dump());
  EXPECT_EQ(je["faces"][0]["box"], nlohmann::json::parse("[0, 0, 150, 150]"));
  EXPECT_EQ(je["faces"][0]["embedding"], nlohmann::json::parse("[1]"));
  EXPECT_EQ(je["model"], "face_recognition");

  v1::VerifyResponse v;
  v.set_similarity(0.71f);
  v.set_match(true);
  v.set_threshold(0.6f);
  v.set_model("face_recognition");
  const nlohmann::json jv = nlohmann::json::parse(VerifyResponseToJson(v).dump());
  EXPECT_EQ(jv["similarity"].get<double>(), 0.71);
  EXPECT_EQ(jv["match"], true);
  EXPECT_EQ(jv["threshold"].get<double>(), 0.6);
  EXPECT_FALSE(jv.contains("box_a"));
}

TEST(JsonOutputTest, InvalidUtf8InAFileNameIsReplacedNotThrown) {
  const std::string line = ToJsonLine(AnalyzeResponseToJson("bad\xff.jpg", v1::AnalyzeResponse()));
  const nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["image"], "bad\xEF\xBF\xBD.jpg");  // U+FFFD
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(CleanFloatTest, ShortestRoundTrip) {
  EXPECT_EQ(CleanFloat(0.1f), 0.1);
  EXPECT_EQ(static_cast<float>(CleanFloat(1.0f / 3)), 1.0f / 3);
  EXPECT_EQ(nlohmann::json(CleanFloat(0.97f)).dump(), "0.97");
}

}  // namespace
}  // namespace faceserve::client
