// FaceTracker: faces followed across the frames of one video stream, each
// with a track id that stays the same for the same person (issue 32).
//
// Motion: each track's box is a KalmanBox, moved by the time between the
// caller's timestamps (which must increase). Association, ByteTrack's two
// stages: detections scoring at least `high_score` are matched to every
// track (lost ones too) by IoU with the predicted box; then those between
// `low_score` and `high_score` to the tracks still unmatched and not lost
// (a face turning away or blurred keeps its track, but never starts one).
// Appearance: a detection that matches no track and carries a descriptor is
// compared with the lost tracks' descriptors first, and takes the id of the
// most similar at `relink_similarity` or more (the same person back after an
// occlusion or a walk out of the picture); only then does it start a track.
//
// Bounded: at most `max_tracks` live (followed or lost) tracks; a lost track
// ends `lost_ttl` after it was last seen. Thread-compatible (one per stream).
#ifndef FACESERVE_CORE_TRACKING_FACE_TRACKER_H_
#define FACESERVE_CORE_TRACKING_FACE_TRACKER_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/tracking/kalman_box.h"
#include "core/types.h"

namespace faceserve {

struct TrackerConfig {
  // ByteTrack's defaults, in its terms: track_thresh 0.5, new tracks from
  // 0.6, first match at 1 - IoU <= 0.8, the low-score match at IoU >= 0.5,
  // a 30-frame buffer (here a time: 30 frames at 25 fps).
  double high_score = 0.5;
  double low_score = 0.1;
  double new_track_score = 0.6;
  double match_iou = 0.2;
  double low_match_iou = 0.5;
  absl::Duration lost_ttl = absl::Milliseconds(1200);
  int max_tracks = 64;
  double nominal_fps = 25;  // the unit of the Kalman filter's time steps
  // Cosine similarity of face descriptors at which a lost track is taken up
  // again; 0 turns re-linking by appearance off.
  double relink_similarity = 0.9;
};

struct TrackerDetection {
  Box box;
  float score = 0;
  std::vector<float> embedding;  // the face's descriptor; empty: not computed
};

enum class TrackEventKind { kStarted, kLost, kRelinked, kEnded };

struct TrackEvent {
  int64_t track_id = 0;
  TrackEventKind kind = TrackEventKind::kStarted;
};

struct TrackedFace {
  int64_t track_id = 0;
  Box box;             // the detection's box, or the predicted one
  int detection = -1;  // its index in the frame's detections; -1: predicted
};

struct TrackerFrame {
  std::vector<TrackedFace> faces;  // the tracks followed in this frame
  std::vector<TrackEvent> events;  // what changed, in order
};

class FaceTracker {
 public:
  explicit FaceTracker(TrackerConfig config = {});

  // A frame whose faces were detected, at `time` (the client's timestamp;
  // INVALID_ARGUMENT unless later than the frame before).
  absl::StatusOr<TrackerFrame> Update(absl::Duration time,
                                      const std::vector<TrackerDetection>& detections);
  // A frame that was not detected: the followed tracks where their motion
  // puts them.
  absl::StatusOr<TrackerFrame> Predict(absl::Duration time);

  int live_tracks() const { return static_cast<int>(tracks_.size()); }

 private:
  struct Track {
    int64_t id;
    KalmanBox motion;
    absl::Duration last_seen;
    bool lost = false;
    std::vector<float> embedding;  // unit length; empty: none yet
  };

  // Moves every track to `time`.
  absl::Status Advance(absl::Duration time);
  // Ends the lost tracks past their time to live.
  void EndExpired(absl::Duration time, std::vector<TrackEvent>* events);
  // Matches `detections[candidates]` to `tracks_[track_indices]` by IoU at or
  // above `min_iou`; the pairs as (track index, detection index).
  std::vector<std::pair<int, int>> Associate(const std::vector<int>& track_indices,
                                             const std::vector<TrackerDetection>& detections,
                                             const std::vector<int>& candidates,
                                             double min_iou) const;
  // The lost track most like `embedding` at relink_similarity or more; -1.
  int MostSimilarLost(const std::vector<float>& embedding) const;

  const TrackerConfig config_;
  std::vector<Track> tracks_;
  int64_t next_id_ = 1;
  bool started_ = false;
  absl::Duration last_time_;
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_TRACKING_FACE_TRACKER_H_
