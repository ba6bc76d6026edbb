#include "core/tracking/mot_metrics.h"

#include <map>
#include <utility>

#include "core/tracking/assignment.h"

namespace faceserve {
namespace {

// CLEAR-MOT counts (everything but the identity metrics).
void CountClearMot(const std::vector<MotFrame>& frames, double min_iou, MotMetrics* m) {
  std::map<int64_t, int64_t> last_match;  // truth id -> hypothesis id it matched last
  for (const MotFrame& frame : frames) {
    const size_t nt = frame.truths.size(), nh = frame.hypotheses.size();
    m->truths += nt;
    m->hypotheses += nh;
    std::vector<int> truth_to_hyp(nt, -1);
    std::vector<char> hyp_taken(nh, false);
    // 1. Correspondences kept from the frames before.
    for (size_t t = 0; t < nt; ++t) {
      auto last = last_match.find(frame.truths[t].id);
      if (last == last_match.end()) continue;
      for (size_t h = 0; h < nh; ++h) {
        if (!hyp_taken[h] && frame.hypotheses[h].id == last->second &&
            IoU(frame.truths[t].box, frame.hypotheses[h].box) >= min_iou) {
          truth_to_hyp[t] = static_cast<int>(h);
          hyp_taken[h] = true;
          break;
        }
      }
    }
    // 2. The rest, at the least total (1 - IoU).
    std::vector<size_t> free_t, free_h;
    for (size_t t = 0; t < nt; ++t) if (truth_to_hyp[t] < 0) free_t.push_back(t);
    for (size_t h = 0; h < nh; ++h) if (!hyp_taken[h]) free_h.push_back(h);
    if (!free_t.empty() && !free_h.empty()) {
      std::vector<std::vector<double>> cost(free_t.size(), std::vector<double>(free_h.size()));
      for (size_t i = 0; i < free_t.size(); ++i) {
        for (size_t j = 0; j < free_h.size(); ++j) {
          cost[i][j] = 1.0 - IoU(frame.truths[free_t[i]].box, frame.hypotheses[free_h[j]].box);
        }
      }
      // As many matches as the threshold allows, then the closest: leaving a
      // pair out costs more than all the pairs together.
      const std::vector<int> assigned =
          SolveAssignment(cost, 1.0 - min_iou, 1.0 + static_cast<double>(free_t.size()));
      for (size_t i = 0; i < free_t.size(); ++i) {
        if (assigned[i] < 0) continue;
        truth_to_hyp[free_t[i]] = static_cast<int>(free_h[assigned[i]]);
        hyp_taken[free_h[assigned[i]]] = true;
        auto last = last_match.find(frame.truths[free_t[i]].id);
        if (last != last_match.end() &&
            last->second != frame.hypotheses[free_h[assigned[i]]].id) {
          ++m->id_switches;
        }
      }
    }
    for (size_t t = 0; t < nt; ++t) {
      if (truth_to_hyp[t] < 0) {
        ++m->misses;
      } else {
        ++m->matches;
        last_match[frame.truths[t].id] = frame.hypotheses[truth_to_hyp[t]].id;
      }
    }
    for (size_t h = 0; h < nh; ++h) m->false_positives += hyp_taken[h] ? 0 : 1;
  }
  m->mota = m->truths == 0 ? 0
                           : 1.0 - static_cast<double>(m->misses + m->false_positives +
                                                       m->id_switches) /
                                       m->truths;
}

// The identity metrics: the one-to-one pairing of truth tracks and
// hypothesis tracks with the most frames overlapping enough.
void CountIdentity(const std::vector<MotFrame>& frames, double min_iou, MotMetrics* m) {
  std::map<int64_t, int> truth_index, hyp_index;
  std::map<std::pair<int, int>, int64_t> overlap;  // (truth, hyp) -> frames matching
  for (const MotFrame& frame : frames) {
    for (const TrackedBox& t : frame.truths) truth_index.emplace(t.id, truth_index.size());
    for (const TrackedBox& h : frame.hypotheses) hyp_index.emplace(h.id, hyp_index.size());
    for (const TrackedBox& t : frame.truths) {
      for (const TrackedBox& h : frame.hypotheses) {
        if (IoU(t.box, h.box) >= min_iou) ++overlap[{truth_index[t.id], hyp_index[h.id]}];
      }
    }
  }
  int64_t idtp = 0;
  if (!truth_index.empty() && !hyp_index.empty()) {
    // Maximise the frames in common: cost = -frames, any pair allowed.
    std::vector<std::vector<double>> cost(truth_index.size(),
                                          std::vector<double>(hyp_index.size(), 0.0));
    for (const auto& [pair, n] : overlap) cost[pair.first][pair.second] = -static_cast<double>(n);
    const std::vector<int> assigned = SolveAssignment(cost, 0.0);
    for (size_t t = 0; t < assigned.size(); ++t) {
      if (assigned[t] >= 0) idtp -= static_cast<int64_t>(cost[t][assigned[t]]);
    }
  }
  m->idtp = idtp;
  m->idfn = m->truths - idtp;
  m->idfp = m->hypotheses - idtp;
  const double denominator = 2.0 * idtp + m->idfp + m->idfn;
  m->idf1 = denominator == 0 ? 0 : 2.0 * idtp / denominator;
  m->idp = m->hypotheses == 0 ? 0 : static_cast<double>(idtp) / m->hypotheses;
  m->idr = m->truths == 0 ? 0 : static_cast<double>(idtp) / m->truths;
}

// The frames without the hypotheses that match ignored boxes.
std::vector<MotFrame> WithoutIgnored(const std::vector<MotFrame>& frames, double min_iou) {
  std::vector<MotFrame> out = frames;
  for (MotFrame& frame : out) {
    if (frame.ignored.empty() || frame.hypotheses.empty()) continue;
    const size_t nt = frame.truths.size(), ni = frame.ignored.size();
    std::vector<std::vector<double>> cost(nt + ni,
                                          std::vector<double>(frame.hypotheses.size()));
    for (size_t r = 0; r < nt + ni; ++r) {
      const Box& box = r < nt ? frame.truths[r].box : frame.ignored[r - nt];
      for (size_t h = 0; h < frame.hypotheses.size(); ++h) {
        cost[r][h] = 1.0 - IoU(box, frame.hypotheses[h].box);
      }
    }
    const std::vector<int> assigned =
        SolveAssignment(cost, 1.0 - min_iou, 1.0 + static_cast<double>(nt + ni));
    std::vector<char> drop(frame.hypotheses.size(), false);
    for (size_t r = nt; r < nt + ni; ++r) {
      if (assigned[r] >= 0) drop[assigned[r]] = true;
    }
    std::vector<TrackedBox> kept;
    for (size_t h = 0; h < frame.hypotheses.size(); ++h) {
      if (!drop[h]) kept.push_back(frame.hypotheses[h]);
    }
    frame.hypotheses = std::move(kept);
    frame.ignored.clear();
  }
  return out;
}

}  // namespace

MotMetrics EvaluateMot(const std::vector<MotFrame>& frames, double min_iou) {
  const std::vector<MotFrame> counted = WithoutIgnored(frames, min_iou);
  MotMetrics m;
  CountClearMot(counted, min_iou, &m);
  CountIdentity(counted, min_iou, &m);
  return m;
}

}  // namespace faceserve
