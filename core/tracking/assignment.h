// The assignment problem: rows to columns, each at most once, at the least
// total cost (the Hungarian method, O(n^3) for n = max(rows, columns)).
// Used to match detections to tracks (with costs from motion and
// appearance) and, in the tracking metrics, truths to hypotheses.
#ifndef FACESERVE_CORE_TRACKING_ASSIGNMENT_H_
#define FACESERVE_CORE_TRACKING_ASSIGNMENT_H_

#include <vector>

namespace faceserve {

// `cost[r][c]`: the cost of giving column c to row r (every row the same
// length). Returns, for each row, its column or -1 (left out), at the least
// total cost, where a pair costing more than `max_cost` is never made and
// leaving a row and a column both out costs `unmatched_cost` (by default
// `max_cost`: a pair is made when it is not dearer than no pair). An
// `unmatched_cost` above the sum of all allowed costs makes as many pairs as
// can be made first, and the cheapest such pairs (CLEAR-MOT's matching).
std::vector<int> SolveAssignment(const std::vector<std::vector<double>>& cost, double max_cost);
std::vector<int> SolveAssignment(const std::vector<std::vector<double>>& cost, double max_cost,
                                 double unmatched_cost);

}  // namespace faceserve

#endif  // FACESERVE_CORE_TRACKING_ASSIGNMENT_H_
