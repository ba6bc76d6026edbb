// FaceTracker::DescriptorsWanted: a tracker given only the descriptors it
// asked for follows a scripted scene (a crossing, an occlusion, a person
// back elsewhere, a newcomer while somebody is lost) exactly as one given
// every descriptor, while asking for few of them.
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <vector>

#include "core/tracking/face_tracker.h"
#include "gtest/gtest.h"

namespace faceserve {
namespace {

constexpr int kFrames = 200;
constexpr int kDims = 16;

Box Square(double cx, double cy, double size = 60) {
  return Box{static_cast<float>(cx - size / 2), static_cast<float>(cy - size / 2),
             static_cast<float>(cx + size / 2), static_cast<float>(cy + size / 2)};
}

struct Person {
  std::vector<float> look;  // the person's descriptor, noise added per frame
  // Where the person is in frame f, or false when not seen.
  std::function<bool(int f, double* x, double* y)> at;
};

// The scene, frame by frame, detections in a fixed order.
std::vector<std::vector<TrackerDetection>> Scene() {
  std::mt19937 rng(32);
  std::normal_distribution<float> normal;
  auto look = [&] {
    std::vector<float> v(kDims);
    for (float& x : v) x = normal(rng);
    return v;
  };
  std::vector<Person> people = {
      // A walks right, hidden for 0.8 s (frames 60-79).
      {look(), [](int f, double* x, double* y) {
         *x = 50 + 3 * f;
         *y = 100;
         return f < 60 || f >= 80;
       }},
      // B stands, leaves at 50, is back elsewhere at 70.
      {look(), [](int f, double* x, double* y) {
         *x = f < 50 ? 400 : 150;
         *y = f < 50 ? 300 : 360;
         return f < 50 || f >= 70;
       }},
      // C arrives while B is away, and crosses A's path (frames 100-140).
      {look(), [](int f, double* x, double* y) {
         *x = 700 - 2 * f;
         *y = 110;
         return f >= 60;
       }},
  };
  std::vector<std::vector<TrackerDetection>> frames(kFrames);
  for (int f = 0; f < kFrames; ++f) {
    for (const Person& p : people) {
      double x, y;
      if (!p.at(f, &x, &y)) continue;
      std::vector<float> seen = p.look;
      for (float& v : seen) v += 0.1f * normal(rng);
      frames[f].push_back(TrackerDetection{Square(x + normal(rng), y + normal(rng)),
                                           0.9f, std::move(seen)});
    }
  }
  return frames;
}

absl::Duration FrameTime(int f) { return absl::Milliseconds(40 * f); }

bool SameFrame(const TrackerFrame& a, const TrackerFrame& b) {
  if (a.faces.size() != b.faces.size() || a.events.size() != b.events.size()) return false;
  for (size_t i = 0; i < a.faces.size(); ++i) {
    if (a.faces[i].track_id != b.faces[i].track_id || a.faces[i].detection != b.faces[i].detection) {
      return false;
    }
  }
  for (size_t i = 0; i < a.events.size(); ++i) {
    if (a.events[i].track_id != b.events[i].track_id || a.events[i].kind != b.events[i].kind) {
      return false;
    }
  }
  return true;
}

// Plays the scene on a tracker given every descriptor and one given those
// `keep` leaves; the frames where the two differ.
int FramesThatDiffer(const std::function<bool(const FaceTracker&, int f, int d)>& keep,
                     int* descriptors_given, int* relinks) {
  const std::vector<std::vector<TrackerDetection>> scene = Scene();
  FaceTracker all, scheduled;
  int differ = 0;
  for (int f = 0; f < kFrames; ++f) {
    std::vector<TrackerDetection> given = scene[f];
    for (size_t d = 0; d < given.size(); ++d) {
      if (keep(scheduled, f, static_cast<int>(d))) {
        ++*descriptors_given;
      } else {
        given[d].embedding.clear();
      }
    }
    absl::StatusOr<TrackerFrame> a = all.Update(FrameTime(f), scene[f]);
    absl::StatusOr<TrackerFrame> b = scheduled.Update(FrameTime(f), given);
    EXPECT_TRUE(a.ok() && b.ok());
    if (!a.ok() || !b.ok()) return kFrames;
    for (const TrackEvent& e : a->events) *relinks += e.kind == TrackEventKind::kRelinked;
    differ += !SameFrame(*a, *b);
  }
  return differ;
}

TEST(DescriptorScheduleTest, OnlyTheWantedDescriptorsTrackAsAllWould) {
  const std::vector<std::vector<TrackerDetection>> scene = Scene();
  int detections = 0;
  for (const auto& frame : scene) detections += static_cast<int>(frame.size());
  int given = 0, relinks = 0;
  std::vector<bool> wanted;
  int wanted_frame = -1;
  const int differ = FramesThatDiffer(
      [&](const FaceTracker& t, int f, int d) {
        if (wanted_frame != f) {
          wanted = t.DescriptorsWanted(FrameTime(f), scene[f]);
          wanted_frame = f;
          EXPECT_EQ(wanted.size(), scene[f].size());
        }
        return wanted[d];
      },
      &given, &relinks);
  EXPECT_EQ(differ, 0);
  EXPECT_GE(relinks, 1) << "the scene must exercise re-linking by appearance";
  std::printf("%d of %d descriptors wanted\n", given, detections);
  EXPECT_LT(given, detections / 3);
}

TEST(DescriptorScheduleTest, TheSceneNeedsDescriptors) {
  // The control: with none, B's return is somebody new.
  int given = 0, relinks = 0;
  EXPECT_GT(FramesThatDiffer([](const FaceTracker&, int, int) { return false; }, &given, &relinks),
            0);
}

TEST(DescriptorScheduleTest, ATrackStartWantsItsDescriptor) {
  FaceTracker tracker;
  const std::vector<TrackerDetection> one = {TrackerDetection{Square(100, 100), 0.9f, {}}};
  EXPECT_EQ(tracker.DescriptorsWanted(FrameTime(0), one), std::vector<bool>{true});
  // A weak detection never starts a track: no descriptor.
  const std::vector<TrackerDetection> weak = {TrackerDetection{Square(100, 100), 0.3f, {}}};
  EXPECT_EQ(tracker.DescriptorsWanted(FrameTime(0), weak), std::vector<bool>{false});
  // Asking changes nothing: the same frame is still to come.
  ASSERT_TRUE(tracker.Update(FrameTime(0), one).ok());
  // Then every descriptor_every-th (5) detection of the track.
  std::vector<bool> asked;
  for (int f = 1; f <= 10; ++f) {
    const std::vector<TrackerDetection> next = {
        TrackerDetection{Square(100 + f, 100), 0.9f, {1, 0}}};
    asked.push_back(tracker.DescriptorsWanted(FrameTime(f), next)[0]);
    ASSERT_TRUE(tracker.Update(FrameTime(f), next).ok());
  }
  // The first detection gave none: the track has no descriptor yet, so the
  // next one is wanted; from then on hits 6 and 11 (every 5th after the 1st).
  EXPECT_EQ(asked, (std::vector<bool>{true, false, false, false, true, false, false, false,
                                      false, true}));
}

}  // namespace
}  // namespace faceserve
