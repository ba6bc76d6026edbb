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

std::vector<TrackerDetection> TrackerDetectionsOf(const std::vector<Face>& faces) {
  std::vector<TrackerDetection> out;
  for (const Face& face : faces) {
    TrackerDetection d{face.detection.box, face.detection.score, {}};
    for (const Prediction& p : face.predictions) {
      for (const HeadResult& h : p.heads) {
        if (h.kind == HeadKind::kEmbedding && d.embedding.empty()) d.embedding = h.embedding;
      }
    }
    out.push_back(std::move(d));
  }
  return out;
}

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

void FaceTracker::AddDescriptor(const std::vector<float>& embedding, Track* track) const {
  if (embedding.empty() || config_.max_descriptors <= 0) return;
  if (!track->descriptors.empty() && (track->hits - 1) % config_.descriptor_every != 0) return;
  std::vector<float> unit = Normalized(embedding);
  if (static_cast<int>(track->descriptors.size()) < config_.max_descriptors) {
    track->descriptors.push_back(std::move(unit));
    return;
  }
  track->descriptors[track->next_descriptor] = std::move(unit);
  track->next_descriptor = (track->next_descriptor + 1) % config_.max_descriptors;
}

double FaceTracker::Similarity(const Track& track, const std::vector<float>& embedding) {
  double best = -1;
  for (const std::vector<float>& d : track.descriptors) {
    if (d.size() == embedding.size()) best = std::max<double>(best, CosineSimilarity(d, embedding));
  }
  return best;
}

int FaceTracker::MostSimilarLost(const std::vector<float>& embedding) const {
  if (config_.relink_similarity <= 0 || embedding.empty()) return -1;
  int best = -1;
  double best_similarity = -1, second = -1;
  for (size_t i = 0; i < tracks_.size(); ++i) {
    if (!tracks_[i].lost || tracks_[i].hits < config_.relink_min_hits) continue;
    const double s = Similarity(tracks_[i], embedding);
    if (s > best_similarity) {
      second = best_similarity;
      best_similarity = s;
      best = static_cast<int>(i);
    } else {
      second = std::max(second, s);
    }
  }
  if (best_similarity < config_.relink_similarity ||
      best_similarity - second < config_.relink_margin) {
    return -1;
  }
  return best;
}

FaceTracker::Matching FaceTracker::Match(absl::Duration time,
                                         const std::vector<TrackerDetection>& detections) const {
  Matching m;
  std::vector<int> low;
  for (size_t d = 0; d < detections.size(); ++d) {
    if (detections[d].score >= config_.high_score) {
      m.high.push_back(static_cast<int>(d));
    } else if (detections[d].score >= config_.low_score) {
      low.push_back(static_cast<int>(d));
    }
  }
  // Tracks whose predicted box still means something.
  std::vector<int> all_tracks;
  for (size_t i = 0; i < tracks_.size(); ++i) {
    if (!tracks_[i].lost || time - tracks_[i].last_seen <= config_.motion_time) {
      all_tracks.push_back(static_cast<int>(i));
    }
  }
  // 1. Confident detections against every track.
  m.match_of_track.assign(tracks_.size(), -1);
  m.detection_used.assign(detections.size(), false);
  for (auto [t, d] : Associate(all_tracks, detections, m.high, config_.match_iou)) {
    m.match_of_track[t] = d;
    m.detection_used[d] = true;
  }
  // 2. Weak detections against the followed tracks left.
  std::vector<int> followed_left;
  for (size_t i = 0; i < tracks_.size(); ++i) {
    if (m.match_of_track[i] < 0 && !tracks_[i].lost) followed_left.push_back(static_cast<int>(i));
  }
  for (auto [t, d] : Associate(followed_left, detections, low, config_.low_match_iou)) {
    m.match_of_track[t] = d;
    m.detection_used[d] = true;
  }
  // Detections overlapping another: their descriptors are not kept.
  m.crowded.assign(detections.size(), false);
  for (size_t a = 0; a < detections.size(); ++a) {
    for (size_t b = a + 1; b < detections.size(); ++b) {
      const Box& x = detections[a].box;
      const Box& y = detections[b].box;
      const float w = std::min(x.x2, y.x2) - std::max(x.x1, y.x1);
      const float h = std::min(x.y2, y.y2) - std::max(x.y1, y.y1);
      if (w > 0 && h > 0 && w * h > 0.1f * std::min(x.area(), y.area())) {
        m.crowded[a] = m.crowded[b] = true;
      }
    }
  }
  return m;
}

std::vector<bool> FaceTracker::DescriptorsWanted(
    absl::Duration time, const std::vector<TrackerDetection>& detections) const {
  FaceTracker trial = *this;  // tracks are values: the trial moves only its own
  if (!trial.Advance(time).ok()) return std::vector<bool>(detections.size(), true);
  const Matching m = trial.Match(time, detections);
  std::vector<bool> wanted(detections.size(), false);
  // Matched: a tentative track compares its descriptor with the lost ones;
  // a followed one keeps its first, then every descriptor_every-th (as
  // AddDescriptor, whose hit count is one more then).
  for (size_t i = 0; i < trial.tracks_.size(); ++i) {
    const int d = m.match_of_track[i];
    if (d < 0) continue;
    const Track& t = trial.tracks_[i];
    const bool kept = config_.max_descriptors > 0 && !m.crowded[d] &&
                      (t.descriptors.empty() || t.hits % config_.descriptor_every == 0);
    if (kept || (t.tentative && config_.relink_similarity > 0)) wanted[d] = true;
  }
  // A track's start: its first descriptor, and tentative or not by it.
  for (int d : m.high) {
    if (!m.detection_used[d] && detections[d].score >= config_.new_track_score) wanted[d] = true;
  }
  return wanted;
}

absl::StatusOr<TrackerFrame> FaceTracker::Update(absl::Duration time,
                                                 const std::vector<TrackerDetection>& detections) {
  if (absl::Status s = Advance(time); !s.ok()) return s;
  TrackerFrame frame;
  Matching m = Match(time, detections);
  const std::vector<int>& high = m.high;
  std::vector<int>& match_of_track = m.match_of_track;
  const std::vector<char>& detection_used = m.detection_used;
  const std::vector<char>& crowded = m.crowded;
  const auto descriptor_of = [&](int d) -> const std::vector<float>& {
    static const std::vector<float> kNone;
    return crowded[d] ? kNone : detections[d].embedding;
  };
  // Matched tracks take their detection; the others are lost (a tentative
  // one is dropped: it was never reported).
  for (size_t i = 0; i < tracks_.size(); ++i) {
    Track& track = tracks_[i];
    const int d = match_of_track[i];
    if (d < 0) {
      if (!track.lost && !track.tentative) frame.events.push_back({track.id, TrackEventKind::kLost});
      track.lost = true;
      continue;
    }
    track.motion.Update(detections[d].box);
    track.last_seen = time;
    track.lost = false;
    ++track.hits;
    AddDescriptor(descriptor_of(d), &track);
  }
  for (size_t i = 0; i < tracks_.size(); ++i) {
    if (tracks_[i].tentative && tracks_[i].lost) {
      tracks_.erase(tracks_.begin() + static_cast<std::ptrdiff_t>(i));
      match_of_track.erase(match_of_track.begin() + static_cast<std::ptrdiff_t>(i));
      --i;
    }
  }
  // Tentative tracks seen often enough: a lost track back, or someone new.
  for (size_t i = 0; i < tracks_.size(); ++i) {
    Track& track = tracks_[i];
    const int d = match_of_track[i];
    if (!track.tentative || d < 0 || track.hits < 2) continue;
    const int t = detections[d].embedding.empty()
                      ? -1
                      : MostSimilarLost(Normalized(detections[d].embedding));
    if (t < 0) {
      if (time - track.first_seen < config_.tentative_time) continue;
      track.tentative = false;
      track.id = next_id_++;
      frame.events.push_back({track.id, TrackEventKind::kStarted});
      continue;
    }
    Track& old = tracks_[t];
    frame.events.push_back({old.id, TrackEventKind::kRelinked});
    old.motion = track.motion;
    old.last_seen = time;
    old.lost = false;
    old.hits += track.hits;
    AddDescriptor(descriptor_of(d), &old);
    match_of_track[t] = d;
    tracks_.erase(tracks_.begin() + static_cast<std::ptrdiff_t>(i));
    match_of_track.erase(match_of_track.begin() + static_cast<std::ptrdiff_t>(i));
    --i;  // the next track moved into place i (a lost one taken over is done)
  }
  // 3. Confident detections left: new tracks, tentative while one is lost.
  const bool someone_lost = std::any_of(tracks_.begin(), tracks_.end(), [&](const Track& t) {
    return t.lost && !t.descriptors.empty() && t.hits >= config_.relink_min_hits;
  });
  for (int d : high) {
    if (detection_used[d] || detections[d].score < config_.new_track_score) continue;
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
    const bool tentative = someone_lost && !detections[d].embedding.empty() &&
                           config_.relink_similarity > 0;
    tracks_.push_back(Track{tentative ? 0 : next_id_++, KalmanBox(detections[d].box), time, false,
                            {}, 1, 0, tentative, time});
    AddDescriptor(descriptor_of(d), &tracks_.back());
    match_of_track.push_back(d);
    if (!tentative) frame.events.push_back({tracks_.back().id, TrackEventKind::kStarted});
  }
  for (size_t i = 0; i < tracks_.size(); ++i) {
    if (tracks_[i].lost || tracks_[i].tentative) continue;
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
    if (!t.lost && !t.tentative) frame.faces.push_back({t.id, t.motion.box(), -1});
  }
  return frame;
}

std::vector<TrackEvent> FaceTracker::EndAll() {
  std::vector<TrackEvent> events;
  for (const Track& t : tracks_) {
    if (!t.tentative) events.push_back({t.id, TrackEventKind::kEnded});
  }
  tracks_.clear();
  return events;
}

}  // namespace faceserve
