// TrackSummaries: best shot, smoothing and identity voting on hand-made
// faces whose expected results are computed here by hand.
#include "core/tracking/track_summary.h"

#include <cmath>

#include "gtest/gtest.h"

namespace faceserve {
namespace {

Face FaceOf(float side, float sharpness = -1, float yaw = 0, bool has_pose = false) {
  Face f;
  f.detection.box = Box{10, 10, 10 + side, 10 + side};
  f.sharpness = sharpness;
  f.has_head_pose = has_pose;
  f.head_pose.yaw_deg = yaw;
  return f;
}

Face WithGender(Face f, float male, float age) {
  Prediction p{"age_gender", "m", "1", {}};
  HeadResult gender;
  gender.name = "gender";
  gender.kind = HeadKind::kClassification;
  gender.scores = {{"female", 1 - male}, {"male", male}};
  gender.label = male >= 0.5f ? "male" : "female";
  gender.label_score = std::max(male, 1 - male);
  HeadResult ages;
  ages.name = "age";
  ages.kind = HeadKind::kRegression;
  ages.values = {{"age", age}};
  HeadResult embedding;  // not smoothed
  embedding.name = "embedding";
  embedding.kind = HeadKind::kEmbedding;
  embedding.embedding = {1, 0};
  p.heads = {gender, ages, embedding};
  f.predictions.push_back(p);
  return f;
}

TEST(ShotQualityTest, SizeSharpnessAndPoseMultiply) {
  EXPECT_FLOAT_EQ(ShotQuality(FaceOf(112)), 1.0f);
  EXPECT_FLOAT_EQ(ShotQuality(FaceOf(224)), 1.0f);  // no better than full size
  EXPECT_FLOAT_EQ(ShotQuality(FaceOf(56)), 0.5f);
  EXPECT_FLOAT_EQ(ShotQuality(FaceOf(112, 100)), 0.5f);
  EXPECT_FLOAT_EQ(ShotQuality(FaceOf(112, 300)), 0.75f);
  EXPECT_NEAR(ShotQuality(FaceOf(112, -1, 60, true)), 0.5f, 1e-6);
  EXPECT_FLOAT_EQ(ShotQuality(FaceOf(112, -1, 60, false)), 1.0f);  // no pose: not judged
  EXPECT_FLOAT_EQ(ShotQuality(FaceOf(0)), 0.0f);
}

TEST(TrackSummariesTest, BestShotIsTheHighestQualityFrame) {
  TrackSummaries s;
  Face small = FaceOf(50), large = FaceOf(100, 300), blurred = FaceOf(110, 20);
  large.crop_jpeg = "large";
  s.Observe(7, absl::Milliseconds(0), 1, 40, small, nullptr);
  s.Observe(7, absl::Milliseconds(40), 2, 80, large, nullptr);
  s.Observe(7, absl::Milliseconds(80), 3, 120, blurred, nullptr);
  const TrackSummary* summary = s.Find(7);
  ASSERT_NE(summary, nullptr);
  EXPECT_EQ(summary->detected_frames, 3);
  ASSERT_TRUE(summary->best_shot.has_value());
  EXPECT_EQ(summary->best_shot->sequence, 2);
  EXPECT_EQ(summary->best_shot->timestamp_us, 80);
  EXPECT_EQ(summary->best_shot->crop_jpeg, "large");
  EXPECT_NEAR(summary->best_shot->quality, 100.0f / 112 * 0.75f, 1e-6);
  EXPECT_EQ(s.Find(8), nullptr);
}

TEST(TrackSummariesTest, SmoothingIsATimeConstantMovingAverage) {
  TrackSummaryConfig config;
  config.smoothing = absl::Seconds(1);
  TrackSummaries s(config);
  s.Observe(1, absl::Seconds(0), 0, 0, WithGender(FaceOf(100), 0.9f, 30), nullptr);
  // One time constant later the average has moved 1 - 1/e of the way.
  s.Observe(1, absl::Seconds(1), 1, 0, WithGender(FaceOf(100), 0.1f, 40), nullptr);
  const double a = 1 - std::exp(-1.0);
  const TrackSummary* summary = s.Find(1);
  ASSERT_NE(summary, nullptr);
  ASSERT_EQ(summary->smoothed.size(), 1u);
  const Prediction& p = summary->smoothed[0];
  EXPECT_EQ(p.predictor, "age_gender");
  ASSERT_EQ(p.heads.size(), 2u);  // the embedding is not smoothed
  const HeadResult& gender = p.heads[0];
  const float male = static_cast<float>(0.9 + a * (0.1 - 0.9));
  EXPECT_NEAR(gender.scores[1].score, male, 1e-6);
  EXPECT_NEAR(gender.scores[0].score, 1 - male, 1e-6);
  EXPECT_EQ(gender.label, "female");  // 0.394 male: the average crossed over
  EXPECT_NEAR(gender.label_score, 1 - male, 1e-6);
  EXPECT_NEAR(p.heads[1].values[0].second, 30 + a * 10, 1e-5);
  // A frame close after moves it little: the label holds.
  s.Observe(1, absl::Seconds(1) + absl::Milliseconds(40), 2, 0, WithGender(FaceOf(100), 0.9f, 40),
            nullptr);
  EXPECT_EQ(s.Find(1)->smoothed[0].heads[0].label, "female");
}

IdentityVote VoteFor(const std::string& subject, float similarity, bool identified = true) {
  return IdentityVote{subject, similarity, identified, 0.9f};
}

TEST(TrackSummariesTest, IdentityNeedsSeveralAgreeingFramesAndIsReportedOnce) {
  TrackSummaries s;
  const Face face = FaceOf(112);
  const IdentityVote alice = VoteFor("alice", 0.95f), bob = VoteFor("bob", 0.93f);
  absl::Duration t;
  int64_t seq = 0;
  auto observe = [&](const IdentityVote& v) {
    t += absl::Milliseconds(40);
    return s.Observe(3, t, seq++, 0, face, &v);
  };
  EXPECT_FALSE(observe(alice).has_value());
  EXPECT_FALSE(observe(bob).has_value());  // 2 votes: too few
  // 3 votes, alice 2/3 = 0.67 >= 0.6 of the weight.
  std::optional<TrackIdentity> id = observe(alice);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->subject, "alice");
  EXPECT_FLOAT_EQ(id->similarity, 0.95f);
  EXPECT_EQ(id->votes, 2);
  EXPECT_EQ(id->window, 3);
  EXPECT_FLOAT_EQ(id->threshold, 0.9f);
  // Reported once: more of the same decides nothing new.
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(observe(alice).has_value());
  EXPECT_EQ(s.Find(3)->identity->subject, "alice");
  // Bob's votes: no change until he holds 80 % of a full window of 10.
  std::optional<TrackIdentity> changed;
  int bob_votes = 0;
  while (!changed.has_value() && bob_votes < 20) {
    changed = observe(bob);
    ++bob_votes;
  }
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(changed->subject, "bob");
  EXPECT_EQ(bob_votes, 8);
  EXPECT_EQ(changed->votes, 8);
  EXPECT_EQ(changed->window, 10);
}

TEST(TrackSummariesTest, UnknownFacesAndPoorShotsDecideNothing) {
  TrackSummaries s;
  absl::Duration t;
  for (int i = 0; i < 12; ++i) {
    t += absl::Milliseconds(40);
    // Below the gallery's threshold: unknown, whatever subject came first.
    const IdentityVote unknown = VoteFor("alice", 0.7f, /*identified=*/false);
    EXPECT_FALSE(s.Observe(1, t, i, 0, FaceOf(112), &unknown).has_value());
    // A tiny face (quality 0.1 < 0.2) casts no vote, however sure.
    const IdentityVote sure = VoteFor("bob", 0.99f);
    EXPECT_FALSE(s.Observe(2, t, i, 0, FaceOf(11), &sure).has_value());
  }
  EXPECT_FALSE(s.Find(1)->identity.has_value());
  EXPECT_FALSE(s.Find(2)->identity.has_value());
}

TEST(TrackSummariesTest, VotesAreWeightedByQuality) {
  TrackSummaries s;
  absl::Duration t;
  std::optional<TrackIdentity> id;
  // One large frame for alice outweighs two small ones for bob (quality
  // 0.25 each): alice 1.0 of 1.5, 0.67 >= 0.6, on the third vote.
  const IdentityVote alice = VoteFor("alice", 0.95f), bob = VoteFor("bob", 0.96f);
  const std::pair<Face, IdentityVote> frames[] = {
      {FaceOf(28), bob}, {FaceOf(112), alice}, {FaceOf(28), bob}};
  for (const auto& [face, vote] : frames) {
    t += absl::Milliseconds(40);
    id = s.Observe(1, t, 0, 0, face, &vote);
  }
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->subject, "alice");
  EXPECT_EQ(id->votes, 1);
  EXPECT_EQ(id->window, 3);
}

TEST(TrackSummariesTest, TakeRemovesTheSummary) {
  TrackSummaries s;
  s.Observe(4, absl::Milliseconds(1), 0, 0, FaceOf(80), nullptr);
  const TrackSummary taken = s.Take(4);
  EXPECT_EQ(taken.track_id, 4);
  EXPECT_EQ(taken.detected_frames, 1);
  EXPECT_EQ(s.Find(4), nullptr);
  const TrackSummary never = s.Take(5);
  EXPECT_EQ(never.track_id, 5);
  EXPECT_EQ(never.detected_frames, 0);
  EXPECT_FALSE(never.best_shot.has_value());
}

}  // namespace
}  // namespace faceserve
