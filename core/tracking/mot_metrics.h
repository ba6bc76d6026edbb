// Multi-object tracking metrics over a sequence of frames with ground truth:
// CLEAR-MOT (Bernardin and Stiefelhagen, 2008: MOTA, identity switches) and
// the identity metrics (Ristani et al., 2016: IDF1, IDP, IDR), as the MOT
// Challenge and py-motmetrics define them. A truth and a hypothesis can
// match when their boxes overlap by at least `min_iou`.
//
// CLEAR-MOT, frame by frame: a truth keeps the hypothesis it matched last
// while they still overlap enough; the others are matched at the least total
// (1 - IoU). A truth matched to another hypothesis than the last one it
// matched is an identity switch. MOTA = 1 - (misses + false positives +
// switches) / truths.
//
// Identity metrics, over the whole sequence: each truth track is paired with
// at most one hypothesis track so that the frames they match (overlap
// enough) are the most; IDTP counts those frames, IDFN the other truths,
// IDFP the other hypotheses. IDF1 = 2 IDTP / (2 IDTP + IDFP + IDFN).
#ifndef FACESERVE_CORE_TRACKING_MOT_METRICS_H_
#define FACESERVE_CORE_TRACKING_MOT_METRICS_H_

#include <cstdint>
#include <vector>

#include "core/types.h"

namespace faceserve {

struct TrackedBox {
  int64_t id = 0;  // the track's id: ground truth's, or the tracker's
  Box box;
};

struct MotFrame {
  std::vector<TrackedBox> truths;
  std::vector<TrackedBox> hypotheses;
  // Faces in the picture that no tracker can be asked to find (mostly
  // hidden): neither a miss when unmatched nor, when a hypothesis matches
  // one, a false positive. As the MOT Challenge treats its distractors:
  // truths and ignored boxes are matched to the hypotheses together (one to
  // one, least total 1 - IoU), and the hypotheses matched to ignored boxes
  // are left out of every count.
  std::vector<Box> ignored;
};

struct MotMetrics {
  int64_t truths = 0;           // ground-truth boxes, every frame
  int64_t hypotheses = 0;       // the tracker's boxes, every frame
  int64_t matches = 0;          // CLEAR-MOT matches
  int64_t misses = 0;           // truths unmatched (false negatives)
  int64_t false_positives = 0;  // hypotheses unmatched
  int64_t id_switches = 0;
  double mota = 0;
  int64_t idtp = 0, idfp = 0, idfn = 0;
  double idf1 = 0, idp = 0, idr = 0;
};

MotMetrics EvaluateMot(const std::vector<MotFrame>& frames, double min_iou = 0.5);

}  // namespace faceserve

#endif  // FACESERVE_CORE_TRACKING_MOT_METRICS_H_
