// server/gallery_convert: every checked field of the gallery requests fails
// with INVALID_ARGUMENT / INVALID_FIELD naming it; good requests convert.
#include "server/gallery_convert.h"

#include <gtest/gtest.h>

#include "core/error_reason.h"

namespace faceserve {
namespace {

std::string FieldOf(const absl::Status& s) {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_EQ(ReasonOf(s), ErrorReason::kInvalidField) << s;
  return MetadataOf(s)["field"];
}

TEST(GalleryConvertTest, IdentifyOptionsAreChecked) {
  v1::IdentifyOptions o;
  EXPECT_EQ(FieldOf(IdentifyOptionsFromProto(o, "options").status()), "options.gallery");
  o.set_gallery(std::string(257, 'g'));
  EXPECT_EQ(FieldOf(IdentifyOptionsFromProto(o, "options").status()), "options.gallery");
  o.set_gallery("bad\nname");
  EXPECT_EQ(FieldOf(IdentifyOptionsFromProto(o, "options").status()), "options.gallery");
  o.set_gallery("g");
  o.set_top_k(101);
  EXPECT_EQ(FieldOf(IdentifyOptionsFromProto(o, "options").status()), "options.top_k");
  o.set_top_k(0);
  o.set_threshold(1.5f);
  EXPECT_EQ(FieldOf(IdentifyOptionsFromProto(o, "options").status()), "options.threshold");
  o.set_threshold(NAN);
  EXPECT_EQ(FieldOf(IdentifyOptionsFromProto(o, "options").status()), "options.threshold");
  o.set_threshold(0);
  absl::StatusOr<IdentifyOptions> ok = IdentifyOptionsFromProto(o, "options");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->top_k, 1);  // 0 means 1
}

TEST(GalleryConvertTest, EnrollRequestsAreChecked) {
  v1::EnrollRequest r;
  r.set_gallery("g");
  EXPECT_EQ(FieldOf(EnrollCallFromProto(r).status()), "subject");
  r.set_subject("s");
  EXPECT_EQ(FieldOf(EnrollCallFromProto(r).status()), "inputs");
  r.add_inputs();
  EXPECT_EQ(FieldOf(EnrollCallFromProto(r).status()), "inputs.0");
  r.mutable_inputs(0)->mutable_embedding()->add_values(NAN);
  EXPECT_EQ(FieldOf(EnrollCallFromProto(r).status()), "inputs.0.embedding");
  r.mutable_inputs(0)->mutable_embedding()->set_values(0, 1.0f);
  (*r.mutable_metadata())[""] = "x";
  EXPECT_EQ(FieldOf(EnrollCallFromProto(r).status()), "metadata key");
  r.mutable_metadata()->clear();
  (*r.mutable_metadata())["k"] = std::string(4097, 'v');
  EXPECT_EQ(FieldOf(EnrollCallFromProto(r).status()), "metadata[k]");
  r.mutable_metadata()->clear();
  r.set_idempotency_key(std::string(129, 'k'));
  EXPECT_EQ(FieldOf(EnrollCallFromProto(r).status()), "idempotency_key");
  r.set_idempotency_key("k");
  for (int i = 0; i < 17; ++i) r.add_inputs()->mutable_image()->set_encoded("x");
  EXPECT_EQ(FieldOf(EnrollCallFromProto(r).status()), "inputs");  // over 16 images
}

TEST(GalleryConvertTest, TheIdempotencyFingerprintIgnoresTheKeyAndSeesTheRest) {
  v1::EnrollRequest r;
  r.set_gallery("g");
  r.set_subject("s");
  r.add_inputs()->mutable_embedding()->add_values(1.0f);
  r.set_idempotency_key("a");
  const std::string a = EnrollCallFromProto(r)->idempotency->request_hash;
  r.set_idempotency_key("b");
  EXPECT_EQ(EnrollCallFromProto(r)->idempotency->request_hash, a);
  r.set_subject("t");
  EXPECT_NE(EnrollCallFromProto(r)->idempotency->request_hash, a);
  r.set_idempotency_key("");
  EXPECT_FALSE(EnrollCallFromProto(r)->idempotency.has_value());
}

TEST(GalleryConvertTest, StoredEnrollResponsesComeBackMarkedReplayed) {
  EnrollOutcome outcome;
  outcome.items.push_back(EnrollItem{42, std::nullopt, Box{1, 2, 3, 4}});
  outcome.items.push_back(EnrollItem{0, EnrollRejection{"truncated", "cut", 1, 0}, std::nullopt});
  v1::EnrollResponse first;
  EnrollOutcomeToProto(outcome, "s", &first);
  v1::EnrollResponse back;
  ASSERT_TRUE(EnrollResponseFromStored(first.SerializeAsString(), &back).ok());
  EXPECT_TRUE(back.replayed());
  EXPECT_EQ(back.results(0).face_id(), 42);
  EXPECT_EQ(back.results(1).rejection().rule(), "truncated");
  EXPECT_FALSE(EnrollResponseFromStored("\\xff\\xff", &back).ok());
}

TEST(GalleryConvertTest, SearchAndPagesAreBounded) {
  v1::SearchRequest s;
  s.mutable_options()->set_gallery("g");
  EXPECT_EQ(FieldOf(SearchCallFromProto(s).status()), "queries");
  s.add_queries();
  EXPECT_EQ(FieldOf(SearchCallFromProto(s).status()), "queries.0");
  v1::ListSubjectsRequest l;
  l.set_gallery("g");
  l.set_page_size(1001);
  EXPECT_EQ(FieldOf(CheckListSubjects(l).status()), "page_size");
  l.set_page_size(0);
  EXPECT_EQ(CheckListSubjects(l)->page_size(), 100);
  v1::DeleteFaceRequest d;
  d.set_gallery("g");
  EXPECT_EQ(FieldOf(CheckDeleteFace(d).status()), "face_id");
}

}  // namespace
}  // namespace faceserve
