#include "core/tracking/track_summary.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace faceserve {
namespace {

constexpr float kFullSizePx = 112;     // the embedding models' input side
constexpr float kHalfSharpness = 100;  // FaceSharpness at which the term is 0.5
constexpr double kDegToRad = 3.14159265358979323846 / 180;

bool Smoothable(HeadKind kind) {
  return kind == HeadKind::kClassification || kind == HeadKind::kMultiLabel ||
         kind == HeadKind::kRegression;
}

// `into` moved `alpha` of the way to `sample`, both the same head.
void Blend(const HeadResult& sample, double alpha, HeadResult* into) {
  const auto mix = [alpha](float old_value, float new_value) {
    return static_cast<float>(old_value + alpha * (new_value - old_value));
  };
  if (sample.scores.size() != into->scores.size() || sample.values.size() != into->values.size()) {
    *into = sample;  // a different model behind the same name: start again
    return;
  }
  for (size_t i = 0; i < sample.scores.size(); ++i) {
    into->scores[i].score = mix(into->scores[i].score, sample.scores[i].score);
  }
  for (size_t i = 0; i < sample.values.size(); ++i) {
    into->values[i].second = mix(into->values[i].second, sample.values[i].second);
  }
  if (into->kind == HeadKind::kClassification && !into->scores.empty()) {
    const auto best = std::max_element(into->scores.begin(), into->scores.end(),
                                       [](const ClassScore& a, const ClassScore& b) { return a.score < b.score; });
    into->label = best->label;
    into->label_score = best->score;
  }
  if (into->kind == HeadKind::kMultiLabel) {
    into->threshold = sample.threshold;
    into->active_labels.clear();
    for (const ClassScore& s : into->scores) {
      if (s.score >= into->threshold) into->active_labels.push_back(s.label);
    }
  }
}

}  // namespace

float ShotQuality(const Face& face) {
  const Box& b = face.detection.box;
  const float side = std::max(0.0f, std::min(b.width(), b.height()));
  const float size = std::min(1.0f, side / kFullSizePx);
  const float sharp =
      face.sharpness < 0 ? 1.0f : face.sharpness / (face.sharpness + kHalfSharpness);
  float frontal = 1;
  if (face.has_head_pose) {
    frontal = static_cast<float>(std::max(0.0, std::cos(face.head_pose.yaw_deg * kDegToRad)) *
                                 std::max(0.0, std::cos(face.head_pose.pitch_deg * kDegToRad)));
  }
  return size * sharp * frontal;
}

std::optional<TrackIdentity> TrackSummaries::Observe(int64_t track_id, absl::Duration time,
                                                     int64_t sequence, int64_t timestamp_us,
                                                     const Face& face, const IdentityVote* vote) {
  State& state = tracks_[track_id];
  TrackSummary& summary = state.summary;
  summary.track_id = track_id;
  const bool first = summary.detected_frames++ == 0;
  const float quality = ShotQuality(face);
  if (!summary.best_shot.has_value() || quality > summary.best_shot->quality) {
    summary.best_shot = BestShot{sequence, timestamp_us, face.detection.box, quality, face.crop_jpeg};
  }
  if (first) state.last_time = time;
  Smooth(face, time, &state);
  state.last_time = time;
  if (vote == nullptr || quality < config_.min_vote_quality) return std::nullopt;
  state.votes.push_back(Vote{vote->identified ? vote->subject : "", vote->similarity, quality});
  while (static_cast<int>(state.votes.size()) > config_.identity_window) state.votes.pop_front();
  return Decide(vote->threshold, &state);
}

void TrackSummaries::Smooth(const Face& face, absl::Duration time, State* state) const {
  const double dt = absl::ToDoubleSeconds(time - state->last_time);
  const double tau = absl::ToDoubleSeconds(config_.smoothing);
  const double alpha = tau <= 0 ? 1.0 : 1.0 - std::exp(-std::max(0.0, dt) / tau);
  std::vector<Prediction>& smoothed = state->summary.smoothed;
  for (const Prediction& p : face.predictions) {
    auto kept = std::find_if(smoothed.begin(), smoothed.end(),
                             [&](const Prediction& s) { return s.predictor == p.predictor; });
    for (const HeadResult& head : p.heads) {
      if (!Smoothable(head.kind)) continue;
      if (kept == smoothed.end()) {
        smoothed.push_back(Prediction{p.predictor, p.model, p.model_version, {}});
        kept = smoothed.end() - 1;
      }
      auto into = std::find_if(kept->heads.begin(), kept->heads.end(),
                               [&](const HeadResult& h) { return h.name == head.name; });
      if (into == kept->heads.end()) {
        kept->heads.push_back(head);  // its first sample is its value
      } else {
        Blend(head, alpha, &*into);
      }
    }
  }
}

std::optional<TrackIdentity> TrackSummaries::Decide(float threshold, State* state) const {
  std::map<std::string, std::pair<double, double>> weight;  // subject -> (weight, weight * similarity)
  std::map<std::string, int> count;
  double total = 0;
  for (const Vote& v : state->votes) {
    weight[v.subject].first += v.weight;
    weight[v.subject].second += v.weight * v.similarity;
    ++count[v.subject];
    total += v.weight;
  }
  const int n = static_cast<int>(state->votes.size());
  if (n < config_.identity_min_votes || total <= 0) return std::nullopt;
  // The leading subject (unknown included).
  auto lead = std::max_element(weight.begin(), weight.end(), [](const auto& a, const auto& b) {
    return a.second.first < b.second.first;
  });
  if (lead->first.empty()) return std::nullopt;
  const double share = lead->second.first / total;
  std::optional<TrackIdentity>& current = state->summary.identity;
  const bool decide = !current.has_value() && share >= config_.identity_share;
  const bool change = current.has_value() && current->subject != lead->first &&
                      n >= config_.identity_window && share >= config_.identity_change_share;
  const auto fill = [&](TrackIdentity* id) {
    id->subject = lead->first;
    id->similarity = static_cast<float>(lead->second.second / lead->second.first);
    id->votes = count[lead->first];
    id->window = n;
    id->threshold = threshold;
  };
  if (decide || change) {
    current.emplace();
    fill(&*current);
    return current;
  }
  // The same subject still leads: its figures follow the evidence, quietly.
  if (current.has_value() && current->subject == lead->first) fill(&*current);
  return std::nullopt;
}

const TrackSummary* TrackSummaries::Find(int64_t track_id) const {
  auto it = tracks_.find(track_id);
  return it == tracks_.end() ? nullptr : &it->second.summary;
}

TrackSummary TrackSummaries::Take(int64_t track_id) {
  auto it = tracks_.find(track_id);
  if (it == tracks_.end()) {
    TrackSummary empty;
    empty.track_id = track_id;
    return empty;
  }
  TrackSummary out = std::move(it->second.summary);
  tracks_.erase(it);
  return out;
}

}  // namespace faceserve
