#include "core/tracking/assignment.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace faceserve {

std::vector<int> SolveAssignment(const std::vector<std::vector<double>>& cost, double max_cost) {
  return SolveAssignment(cost, max_cost, max_cost);
}

std::vector<int> SolveAssignment(const std::vector<std::vector<double>>& cost, double max_cost,
                                 double unmatched_cost) {
  const int rows = static_cast<int>(cost.size());
  const int cols = rows == 0 ? 0 : static_cast<int>(cost[0].size());
  if (rows == 0 || cols == 0) return std::vector<int>(rows, -1);
  // Square, n = rows + cols: every row may also take a "left out" column and
  // every column a "left out" row, each at half of unmatched_cost; a pair
  // above max_cost costs more than any assignment without it.
  const int n = rows + cols;
  const double forbidden = 1e9 + n * (std::abs(max_cost) + std::abs(unmatched_cost));
  auto a = [&](int r, int c) -> double {  // 1-based, as the method below
    --r, --c;
    if (r < rows && c < cols) return cost[r][c] <= max_cost ? cost[r][c] : forbidden;
    if (r < rows || c < cols) return unmatched_cost / 2;  // one side left out
    return 0;                                       // dummy with dummy
  };
  // The Hungarian method with potentials (u, v) and the augmenting path way.
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1, 0), v(n + 1, 0);
  std::vector<int> match(n + 1, 0), way(n + 1, 0);  // match[col] = row
  for (int r = 1; r <= n; ++r) {
    match[0] = r;
    int col0 = 0;
    std::vector<double> minv(n + 1, inf);
    std::vector<char> used(n + 1, false);
    do {
      used[col0] = true;
      const int r0 = match[col0];
      double delta = inf;
      int col1 = 0;
      for (int c = 1; c <= n; ++c) {
        if (used[c]) continue;
        const double cur = a(r0, c) - u[r0] - v[c];
        if (cur < minv[c]) minv[c] = cur, way[c] = col0;
        if (minv[c] < delta) delta = minv[c], col1 = c;
      }
      for (int c = 0; c <= n; ++c) {
        if (used[c]) {
          u[match[c]] += delta;
          v[c] -= delta;
        } else {
          minv[c] -= delta;
        }
      }
      col0 = col1;
    } while (match[col0] != 0);
    do {
      const int col1 = way[col0];
      match[col0] = match[col1];
      col0 = col1;
    } while (col0 != 0);
  }
  std::vector<int> result(rows, -1);
  for (int c = 1; c <= cols; ++c) {
    const int r = match[c] - 1;
    if (r >= 0 && r < rows && cost[r][c - 1] <= max_cost) result[r] = c - 1;
  }
  return result;
}

}  // namespace faceserve
