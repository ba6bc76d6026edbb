// FaceTracker on synthetic detections with known tracks: the ids it gives
// are scored with the tracking metrics (EvaluateMot) where a sequence is
// involved, and checked one by one for the single events.
#include "core/tracking/face_tracker.h"

#include <cmath>
#include <vector>

#include "core/tracking/kalman_box.h"
#include "core/tracking/mot_metrics.h"
#include "gtest/gtest.h"

namespace faceserve {
namespace {

constexpr double kFps = 25;

absl::Duration FrameTime(int frame) { return absl::Milliseconds(40 * frame); }

Box Square(double cx, double cy, double size = 60) {
  return Box{static_cast<float>(cx - size / 2), static_cast<float>(cy - size / 2),
             static_cast<float>(cx + size / 2), static_cast<float>(cy + size / 2)};
}

TrackerDetection Seen(const Box& box, float score = 0.9, std::vector<float> embedding = {}) {
  return TrackerDetection{box, score, std::move(embedding)};
}

int64_t IdOf(const TrackerFrame& frame, int detection) {
  for (const TrackedFace& f : frame.faces) {
    if (f.detection == detection) return f.track_id;
  }
  return -1;
}

bool Has(const TrackerFrame& frame, TrackEventKind kind, int64_t id) {
  for (const TrackEvent& e : frame.events) {
    if (e.kind == kind && e.track_id == id) return true;
  }
  return false;
}

TEST(KalmanBoxTest, PredictsAConstantMotionAfterAFewFrames) {
  KalmanBox k(Square(100, 100));
  for (int f = 1; f <= 10; ++f) {
    k.Predict(1);
    k.Update(Square(100 + 5 * f, 100));
  }
  k.Predict(4);  // four frames unseen: 5 px a frame
  const Box b = k.box();
  EXPECT_NEAR((b.x1 + b.x2) / 2, 170, 3);
  EXPECT_NEAR((b.y1 + b.y2) / 2, 100, 1);
  EXPECT_NEAR(b.width(), 60, 1);
}

TEST(FaceTrackerTest, TwoCrossingFacesKeepTheirIds) {
  // Two faces walking towards each other on nearly the same line; their
  // boxes overlap for several frames around frame 30.
  FaceTracker tracker;
  std::vector<MotFrame> frames;
  for (int f = 0; f < 60; ++f) {
    const Box a = Square(100 + 6 * f, 200), b = Square(460 - 6 * f, 215);
    absl::StatusOr<TrackerFrame> out = tracker.Update(FrameTime(f), {Seen(a), Seen(b)});
    ASSERT_TRUE(out.ok()) << out.status();
    MotFrame mot{{{1, a}, {2, b}}, {}, {}};
    for (const TrackedFace& face : out->faces) mot.hypotheses.push_back({face.track_id, face.box});
    frames.push_back(mot);
  }
  const MotMetrics m = EvaluateMot(frames);
  EXPECT_EQ(m.id_switches, 0);
  EXPECT_DOUBLE_EQ(m.idf1, 1.0);
  EXPECT_EQ(tracker.live_tracks(), 2);
}

TEST(FaceTrackerTest, AShortOcclusionKeepsTheIdByMotion) {
  FaceTracker tracker;
  int64_t id = -1;
  for (int f = 0; f < 40; ++f) {
    const bool hidden = f >= 15 && f < 25;  // 0.4 s behind something
    std::vector<TrackerDetection> seen;
    if (!hidden) seen.push_back(Seen(Square(100 + 4 * f, 200)));
    absl::StatusOr<TrackerFrame> out = tracker.Update(FrameTime(f), seen);
    ASSERT_TRUE(out.ok());
    if (f == 0) id = IdOf(*out, 0);
    if (f == 15) {
      EXPECT_TRUE(Has(*out, TrackEventKind::kLost, id));
    }
    if (hidden) {
      EXPECT_TRUE(out->faces.empty());
    }
    if (!hidden) {
      EXPECT_EQ(IdOf(*out, 0), id) << "frame " << f;
    }
  }
}

TEST(FaceTrackerTest, ThePersonBackElsewhereIsRelinkedByAppearance) {
  const std::vector<float> ada = {1, 0, 0.1f}, bob = {0, 1, 0.1f};
  FaceTracker tracker;  // relinks from a tentative track's 2nd detection
  absl::StatusOr<TrackerFrame> first = tracker.Update(FrameTime(0), {Seen(Square(100, 100), 0.9, ada)});
  ASSERT_TRUE(first.ok());
  const int64_t id = IdOf(*first, 0);
  for (int f = 1; f < 5; ++f) {  // seen often enough to be taken up again
    ASSERT_TRUE(tracker.Update(FrameTime(f), {Seen(Square(100 + 2 * f, 100), 0.9, ada)}).ok());
  }
  // Gone for 0.7 s (within the time to live), back on the other side:
  // tentative (unreported) on the first frame, then hers again.
  for (int f = 5; f < 22; ++f) ASSERT_TRUE(tracker.Update(FrameTime(f), {}).ok());
  const std::vector<float> ada_again = {0.9f, 0.05f, 0.1f};
  absl::StatusOr<TrackerFrame> back =
      tracker.Update(FrameTime(22), {Seen(Square(500, 300), 0.9, ada_again)});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(IdOf(*back, 0), -1);
  back = tracker.Update(FrameTime(23), {Seen(Square(502, 300), 0.9, ada_again)});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(IdOf(*back, 0), id);
  EXPECT_TRUE(Has(*back, TrackEventKind::kRelinked, id));
  EXPECT_EQ(tracker.live_tracks(), 1);
  // Someone else where she was: a new track.
  absl::StatusOr<TrackerFrame> other =
      tracker.Update(FrameTime(24), {Seen(Square(506, 300), 0.9, ada), Seen(Square(100, 100), 0.9, bob)});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(IdOf(*other, 0), id);
  EXPECT_NE(IdOf(*other, 1), id);
  EXPECT_TRUE(Has(*other, TrackEventKind::kStarted, IdOf(*other, 1)));
}

TEST(FaceTrackerTest, AnAmbiguousLikenessRelinksNobody) {
  // Two people lost, equally like the face that comes back: no relink.
  const std::vector<float> ada = {1, 0.1f, 0}, eve = {1, -0.1f, 0}, back_face = {1, 0, 0};
  FaceTracker tracker;
  for (int f = 0; f < 5; ++f) {
    ASSERT_TRUE(tracker.Update(FrameTime(f), {Seen(Square(100, 100), 0.9, ada),
                                              Seen(Square(400, 100), 0.9, eve)}).ok());
  }
  for (int f = 5; f < 10; ++f) ASSERT_TRUE(tracker.Update(FrameTime(f), {}).ok());
  absl::StatusOr<TrackerFrame> out;
  for (int f = 10; f < 20; ++f) {  // tentative for 300 ms, then its own
    out = tracker.Update(FrameTime(f), {Seen(Square(250, 300), 0.9, back_face)});
    ASSERT_TRUE(out.ok());
  }
  EXPECT_EQ(IdOf(*out, 0), 3);  // a track of its own
  EXPECT_EQ(tracker.live_tracks(), 3);
}

TEST(FaceTrackerTest, APassingFalseDetectionCapturesNobodysReturn) {
  // A track seen twice (a half face in a crowd) is not taken up again by
  // the face it looked like: that face, back, starts its own track.
  const std::vector<float> ada = {1, 0, 0};
  FaceTracker tracker;
  for (int f = 0; f < 2; ++f) {
    ASSERT_TRUE(tracker.Update(FrameTime(f), {Seen(Square(100, 100), 0.9, ada)}).ok());
  }
  for (int f = 2; f < 10; ++f) ASSERT_TRUE(tracker.Update(FrameTime(f), {}).ok());
  absl::StatusOr<TrackerFrame> out = tracker.Update(FrameTime(10), {Seen(Square(300, 100), 0.9, ada)});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(IdOf(*out, 0), 2);  // reported at once: nobody lost counts
}

TEST(FaceTrackerTest, WeakDetectionsKeepATrackButNeverStartOne) {
  FaceTracker tracker;
  absl::StatusOr<TrackerFrame> out = tracker.Update(FrameTime(0), {Seen(Square(100, 100), 0.9)});
  ASSERT_TRUE(out.ok());
  const int64_t id = IdOf(*out, 0);
  // The face turns away: 0.3 is below high_score, above low_score.
  out = tracker.Update(FrameTime(1), {Seen(Square(103, 100), 0.3), Seen(Square(400, 100), 0.3)});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(IdOf(*out, 0), id);
  EXPECT_EQ(IdOf(*out, 1), -1);  // the other weak one starts nothing
  EXPECT_EQ(tracker.live_tracks(), 1);
}

TEST(FaceTrackerTest, LostTracksEndAfterTheirTimeToLive) {
  TrackerConfig config;
  config.lost_ttl = absl::Milliseconds(200);
  FaceTracker tracker(config);
  absl::StatusOr<TrackerFrame> out = tracker.Update(FrameTime(0), {Seen(Square(100, 100))});
  ASSERT_TRUE(out.ok());
  const int64_t id = IdOf(*out, 0);
  bool ended = false;
  for (int f = 1; f <= 8 && !ended; ++f) {
    out = tracker.Update(FrameTime(f), {});
    ASSERT_TRUE(out.ok());
    ended = Has(*out, TrackEventKind::kEnded, id);
    if (ended) {
      EXPECT_GT(FrameTime(f), absl::Milliseconds(200));
    }
  }
  EXPECT_TRUE(ended);
  EXPECT_EQ(tracker.live_tracks(), 0);
}

TEST(FaceTrackerTest, AtMostMaxTracksLiveAndRoomComesFromTheOldestLost) {
  TrackerConfig config;
  config.max_tracks = 4;
  FaceTracker tracker(config);
  std::vector<TrackerDetection> crowd;
  for (int i = 0; i < 10; ++i) crowd.push_back(Seen(Square(100 + 100 * i, 100)));
  absl::StatusOr<TrackerFrame> out = tracker.Update(FrameTime(0), crowd);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->faces.size(), 4u);
  EXPECT_EQ(tracker.live_tracks(), 4);
  // The four leave; four others arrive: the lost ones make room.
  std::vector<TrackerDetection> others;
  for (int i = 0; i < 4; ++i) others.push_back(Seen(Square(100 + 100 * i, 600)));
  out = tracker.Update(FrameTime(1), others);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->faces.size(), 4u);
  EXPECT_EQ(tracker.live_tracks(), 4);
}

TEST(FaceTrackerTest, TimestampsMustIncrease) {
  FaceTracker tracker;
  ASSERT_TRUE(tracker.Update(FrameTime(5), {}).ok());
  EXPECT_EQ(tracker.Update(FrameTime(5), {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tracker.Predict(FrameTime(4)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(tracker.Predict(FrameTime(6)).ok());
}

TEST(FaceTrackerTest, FramesNotDetectedAreFollowedByMotion) {
  // Detection every 3rd frame; between, the predicted box stays on the face.
  FaceTracker tracker;
  int64_t id = -1;
  for (int f = 0; f < 45; ++f) {
    const Box truth = Square(100 + 5 * f, 200);
    absl::StatusOr<TrackerFrame> out =
        f % 3 == 0 ? tracker.Update(FrameTime(f), {Seen(truth)}) : tracker.Predict(FrameTime(f));
    ASSERT_TRUE(out.ok());
    ASSERT_EQ(out->faces.size(), 1u) << "frame " << f;
    if (id < 0) id = out->faces[0].track_id;
    EXPECT_EQ(out->faces[0].track_id, id);
    if (f >= 9) {
      EXPECT_GT(IoU(out->faces[0].box, truth), 0.7) << "frame " << f;
    }
  }
}

}  // namespace
}  // namespace faceserve
