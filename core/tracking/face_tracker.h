// FaceTracker: faces followed across the frames of one video stream, each
// with a track id that stays the same for the same person (issue 32).
//
// Motion: each track's box is a KalmanBox, moved by the time between the
// caller's timestamps (which must increase). Association, ByteTrack's two
// stages: detections scoring at least `high_score` are matched to every
// track (lost ones too) by IoU with the predicted box; then those between
// `low_score` and `high_score` to the tracks still unmatched and not lost
// (a face turning away or blurred keeps its track, but never starts one).
// Appearance: a confident detection that matches no track starts a track.
// While some track is lost, the new one is tentative (not reported, no id
// yet) for `tentative_time`: from its second detection on, its descriptor
// is compared with the lost tracks'; when one is at `relink_similarity` or
// more, and ahead of the next by `relink_margin`, the lost track takes it
// over (the same person back after an occlusion or a walk out of the
// picture: its old id, relinked); at the end of that time it is a new person
// and gets an id. Only lost tracks seen `relink_min_hits` times or more are
// taken up again: a passing false detection (half of a face in a crossing)
// must not capture somebody's return, and a detection that overlaps another
// gives its track no descriptor (the crop of a face half behind another is
// mostly the other face). The wait lets a face that comes out from behind something
// be seen whole (a half-hidden face's descriptor can be closer to somebody
// else's), and nobody gets a passing id that would count as a switch. With
// no track lost, a new face is reported at once. A track keeps a few of its
// descriptors (`max_descriptors`, taken `descriptor_every` detections
// apart, the oldest replaced) and a face is as similar to it as to the
// closest of them.
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
  double relink_margin = 0.03;
  absl::Duration tentative_time = absl::Milliseconds(300);
  absl::Duration motion_time = absl::Seconds(1);
  int relink_min_hits = 5;
  int max_descriptors = 8;
  int descriptor_every = 5;
};

struct TrackerDetection {
  Box box;
  float score = 0;
  std::vector<float> embedding;  // the face's descriptor; empty: not computed
};

// A frame's tracker input from the pipeline's faces: each one's box, score
// and descriptor (its first embedding head; empty when none ran on it).
std::vector<TrackerDetection> TrackerDetectionsOf(const std::vector<Face>& faces);

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
  // Which of `detections` the Update at `time` with them would use the
  // descriptor of: a track's start, every descriptor_every-th detection of a
  // followed track, and the faces of tentative tracks (compared with the
  // lost ones). The others' would go unused, so a caller may skip computing
  // them: Update with only the wanted descriptors does exactly what it does
  // with all. Changes nothing.
  std::vector<bool> DescriptorsWanted(absl::Duration time,
                                      const std::vector<TrackerDetection>& detections) const;
  // A frame that was not detected: the followed tracks where their motion
  // puts them.
  absl::StatusOr<TrackerFrame> Predict(absl::Duration time);

  // Ends every track (the stream is over): a kEnded event for each one
  // reported; the tentative ones go unsaid.
  std::vector<TrackEvent> EndAll();

  int live_tracks() const { return static_cast<int>(tracks_.size()); }

 private:
  struct Track {
    int64_t id;
    KalmanBox motion;
    absl::Duration last_seen;
    bool lost = false;
    std::vector<std::vector<float>> descriptors;  // unit length; ring of max_descriptors
    int hits = 1;                                 // detections matched
    int next_descriptor = 0;                      // the ring's oldest slot
    bool tentative = false;                       // not reported yet; id 0
    absl::Duration first_seen;
  };

  // ByteTrack's two stages on the tracks moved to `time`.
  struct Matching {
    std::vector<int> high;               // the confident detections
    std::vector<int> match_of_track;     // per track: its detection, or -1
    std::vector<char> detection_used;    // per detection: matched
    std::vector<char> crowded;           // per detection: overlaps another
  };
  Matching Match(absl::Duration time, const std::vector<TrackerDetection>& detections) const;

  // Keeps a detection's descriptor (the first, then every descriptor_every-th).
  void AddDescriptor(const std::vector<float>& embedding, Track* track) const;
  // The track's likeness to a unit `embedding`: the closest of its descriptors.
  static double Similarity(const Track& track, const std::vector<float>& embedding);

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
  // The lost track most like `embedding`, at relink_similarity or more and
  // relink_margin ahead of the next; -1.
  int MostSimilarLost(const std::vector<float>& embedding) const;

  const TrackerConfig config_;
  std::vector<Track> tracks_;
  int64_t next_id_ = 1;
  bool started_ = false;
  absl::Duration last_time_;
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_TRACKING_FACE_TRACKER_H_
