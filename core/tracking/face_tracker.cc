#include "core/tracking/face_tracker.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/predictor/head_postprocess.h"
#include "core/tracking/assignment.h"

namespace faceserve {
namespace {

// Unit length, as the descriptors are compared (empty stays empty).
std::vector<float> Normalized(std::vector<float> v) {
  L2Normalize(&v);
  return v;
}

}  // namespace

FaceTracker::FaceTracker(TrackerConfig config) : config_(std::move(config)) {}

absl::Status FaceTracker::Advance(absl::Duration time) {
  if (started_ && time <= last_time_) {
    return absl::InvalidArgumentError(
        absl::StrCat("frame timestamps must increase: ", absl::FormatDuration(time),
                     " after ", absl::FormatDuration(last_time_)));
  }
  const double frames = started_ ? absl::ToDoubleSeconds(time - last_time_) * config_.nominal_fps : 0;
  for (Track& t : tracks_) t.motion.Predict(frames);
  started_ = true;
  last_time_ = time;
  return absl::OkStatus();
}

void FaceTracker::EndExpired(absl::Duration time, std::vector<TrackEvent>* events) {
  auto expired = [&](const Track& t) { return t.lost && time - t.last_seen > config_.lost_ttl; };
  for (const Track& t : tracks_) {
    if (expired(t)) events->push_back({t.id, TrackEventKind::kEnded});
  }
  tracks_.erase(std::remove_if(tracks_.begin(), tracks_.end(), expired), tracks_.end());
}

std::vector<std::pair<int, int>> FaceTracker::Associate(
    const std::vector<int>& track_indices, const std::vector<TrackerDetection>& detections,
    const std::vector<int>& candidates, double min_iou) const {
  std::vector<std::pair<int, int>> pairs;
  if (track_indices.empty() || candidates.empty()) return pairs;
  std::vector<std::vector<double>> cost(track_indices.size(),
                                        std::vector<double>(candidates.size()));
  for (size_t i = 0; i < track_indices.size(); ++i) {
    const Box predicted = tracks_[track_indices[i]].motion.box();
    for (size_t j = 0; j < candidates.size(); ++j) {
      cost[i][j] = 1.0 - IoU(predicted, detections[candidates[j]].box);
    }
  }
  const std::vector<int> assigned = SolveAssignment(cost, 1.0 - min_iou);
  for (size_t i = 0; i < assigned.size(); ++i) {
    if (assigned[i] >= 0) pairs.emplace_back(track_indices[i], candidates[assigned[i]]);
  }
  return pairs;
}

int FaceTracker::MostSimilarLost(const std::vector<float>& embedding) const {
  if (config_.relink_similarity <= 0 || embedding.empty()) return -1;
  int best = -1;
  double best_similarity = config_.relink_similarity;
  for (size_t i = 0; i < tracks_.size(); ++i) {
    if (!tracks_[i].lost) continue;
    if (tracks_[i].embedding.size() != embedding.size()) continue;
    const double s = CosineSimilarity(embedding, tracks_[i].embedding);
    if (s >= best_similarity) best_similarity = s, best = static_cast<int>(i);
  }
  return best;
}

absl::StatusOr<TrackerFrame> FaceTracker::Update(absl::Duration time,
                                                 const std::vector<TrackerDetection>& detections) {
  if (absl::Status s = Advance(time); !s.ok()) return s;
  TrackerFrame frame;
  std::vector<int> high, low;
  for (size_t d = 0; d < detections.size(); ++d) {
    if (detections[d].score >= config_.high_score) {
      high.push_back(static_cast<int>(d));
    } else if (detections[d].score >= config_.low_score) {
      low.push_back(static_cast<int>(d));
    }
  }
  std::vector<int> all_tracks(tracks_.size());
  for (size_t i = 0; i < tracks_.size(); ++i) all_tracks[i] = static_cast<int>(i);

  // 1. Confident detections against every track.
  std::vector<int> match_of_track(tracks_.size(), -1);
  std::vector<char> detection_used(detections.size(), false);
  for (auto [t, d] : Associate(all_tracks, detections, high, config_.match_iou)) {
    match_of_track[t] = d;
    detection_used[d] = true;
  }
  // 2. Weak detections against the followed tracks left.
  std::vector<int> followed_left;
  for (size_t i = 0; i < tracks_.size(); ++i) {
    if (match_of_track[i] < 0 && !tracks_[i].lost) followed_left.push_back(static_cast<int>(i));
  }
  for (auto [t, d] : Associate(followed_left, detections, low, config_.low_match_iou)) {
    match_of_track[t] = d;
    detection_used[d] = true;
  }
  // Matched tracks take their detection; the others are lost.
  for (size_t i = 0; i < tracks_.size(); ++i) {
    Track& track = tracks_[i];
    const int d = match_of_track[i];
    if (d < 0) {
      if (!track.lost) frame.events.push_back({track.id, TrackEventKind::kLost});
      track.lost = true;
      continue;
    }
    track.motion.Update(detections[d].box);
    track.last_seen = time;
    track.lost = false;
    if (!detections[d].embedding.empty()) track.embedding = Normalized(detections[d].embedding);
  }
  // 3. Confident detections left: a lost track seen again, or a new track.
  for (int d : high) {
    if (detection_used[d] || detections[d].score < config_.new_track_score) continue;
    const std::vector<float> embedding = Normalized(detections[d].embedding);
    if (const int t = MostSimilarLost(embedding); t >= 0) {
      Track& track = tracks_[t];
      track.motion = KalmanBox(detections[d].box);  // its old motion says nothing now
      track.last_seen = time;
      track.lost = false;
      track.embedding = embedding;
      match_of_track[t] = d;
      frame.events.push_back({track.id, TrackEventKind::kRelinked});
      continue;
    }
    if (live_tracks() >= config_.max_tracks) {
      // Room from the lost track seen longest ago, if any.
      auto oldest = tracks_.end();
      for (auto it = tracks_.begin(); it != tracks_.end(); ++it) {
        if (it->lost && (oldest == tracks_.end() || it->last_seen < oldest->last_seen)) oldest = it;
      }
      if (oldest == tracks_.end()) continue;
      frame.events.push_back({oldest->id, TrackEventKind::kEnded});
      match_of_track.erase(match_of_track.begin() + (oldest - tracks_.begin()));
      tracks_.erase(oldest);
    }
    tracks_.push_back(Track{next_id_++, KalmanBox(detections[d].box), time, false, embedding});
    match_of_track.push_back(d);
    frame.events.push_back({tracks_.back().id, TrackEventKind::kStarted});
  }
  for (size_t i = 0; i < tracks_.size(); ++i) {
    if (tracks_[i].lost) continue;
    const int d = match_of_track[i];
    frame.faces.push_back({tracks_[i].id, d >= 0 ? detections[d].box : tracks_[i].motion.box(), d});
  }
  EndExpired(time, &frame.events);  // after: it reorders nothing but removes lost tracks
  return frame;
}

absl::StatusOr<TrackerFrame> FaceTracker::Predict(absl::Duration time) {
  if (absl::Status s = Advance(time); !s.ok()) return s;
  TrackerFrame frame;
  EndExpired(time, &frame.events);
  for (const Track& t : tracks_) {
    if (!t.lost) frame.faces.push_back({t.id, t.motion.box(), -1});
  }
  return frame;
}

}  // namespace faceserve
