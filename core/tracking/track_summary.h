// TrackSummaries: what a stream learns about each track over its detected
// frames (issue 32, item 3): its best shot, its attributes smoothed over
// time, and, with a gallery, its identity decided from several frames.
//
// Best shot: the detected frame whose face scores highest on ShotQuality
// (large, sharp, frontal).
//
// Smoothing: each classification, multi-label and regression head is an
// exponential moving average over the track's detected frames with time
// constant `smoothing` (a frame `dt` after the previous one moves the average
// by 1 - exp(-dt / smoothing) of the way), so a label does not flicker
// between frames, yet follows a real change within about that time.
//
// Identity (Frigate's recognition, in outline): each detected frame whose
// face has ShotQuality >= `min_vote_quality` casts one vote, weighted by that
// quality: the gallery's best subject when it was identified on that frame,
// else "unknown". The last `identity_window` votes count. The track is
// identified when at least `identity_min_votes` votes are in and one
// subject holds `identity_share` of their weight; once identified, it changes
// to another subject only on strong evidence: a full window with
// `identity_change_share` for the other. An identity is never withdrawn
// (a face turned away votes "unknown" for a while; that is not a stranger).
//
// Bounded: one summary per live track (the tracker bounds those), removed
// with Take(). Thread-compatible (one per stream).
#ifndef FACESERVE_CORE_TRACKING_TRACK_SUMMARY_H_
#define FACESERVE_CORE_TRACKING_TRACK_SUMMARY_H_

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "core/types.h"

namespace faceserve {

struct TrackSummaryConfig {
  absl::Duration smoothing = absl::Seconds(1);
  int identity_window = 10;
  int identity_min_votes = 3;
  double identity_share = 0.6;
  double identity_change_share = 0.8;
  double min_vote_quality = 0.2;
};

// How good a face is as a picture of its person, in [0, 1]: the product of
// its size (the box's shorter side over 112 px, the embedding models'
// input, at most 1), its sharpness (s / (s + 100) of FaceSharpness's
// value: sharp faces measure 190-360 at the 10th percentile, blurred ones
// 15-114 at the median, bench/results/face-sharpness-*; 1 when not
// measured), and how frontal it is (cos yaw * cos pitch of the head
// pose, when there is one; else 1).
float ShotQuality(const Face& face);

// One frame's gallery answer for a face: the best subject and whether it
// passed the gallery's threshold.
struct IdentityVote {
  std::string subject;
  float similarity = 0;
  bool identified = false;
  float threshold = 0;
};

// A track's identity, decided over its frames.
struct TrackIdentity {
  std::string subject;
  float similarity = 0;  // mean of the subject's votes, weighted by quality
  int votes = 0;         // votes for the subject in the window
  int window = 0;        // votes in the window
  float threshold = 0;   // the gallery's, as on the last vote
};

struct BestShot {
  int64_t sequence = 0;
  int64_t timestamp_us = 0;
  Box box;
  float quality = 0;
  std::string crop_jpeg;  // the face's crop, when the frame had one
};

struct TrackSummary {
  int64_t track_id = 0;
  int detected_frames = 0;
  std::optional<BestShot> best_shot;
  std::vector<Prediction> smoothed;  // the smoothed heads, per predictor
  std::optional<TrackIdentity> identity;
};

class TrackSummaries {
 public:
  explicit TrackSummaries(TrackSummaryConfig config = {}) : config_(config) {}

  // Track `track_id`'s face on a detected frame (`time`, the client's
  // `sequence` and `timestamp_us`), with the gallery's answer for it when the
  // stream identifies. Returns the identity when it was decided or changed
  // by this frame.
  std::optional<TrackIdentity> Observe(int64_t track_id, absl::Duration time, int64_t sequence,
                                       int64_t timestamp_us, const Face& face,
                                       const IdentityVote* vote);
  // The summary so far; null for a track never observed.
  const TrackSummary* Find(int64_t track_id) const;
  // Removes and returns the summary (the track ended); one with only the id
  // for a track never observed.
  TrackSummary Take(int64_t track_id);

 private:
  struct Vote {
    std::string subject;  // empty: unknown
    float similarity = 0;
    float weight = 0;
  };
  struct State {
    TrackSummary summary;
    absl::Duration last_time;
    std::deque<Vote> votes;
  };

  void Smooth(const Face& face, absl::Duration time, State* state) const;
  std::optional<TrackIdentity> Decide(float threshold, State* state) const;

  const TrackSummaryConfig config_;
  std::map<int64_t, State> tracks_;
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_TRACKING_TRACK_SUMMARY_H_
