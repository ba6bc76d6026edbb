#include "core/types.h"

#include <algorithm>

namespace faceserve {

float IoU(const Box& a, const Box& b) {
  const Box inter{std::max(a.x1, b.x1), std::max(a.y1, b.y1), std::min(a.x2, b.x2),
                  std::min(a.y2, b.y2)};
  const float i = inter.area();
  const float u = a.area() + b.area() - i;
  return u > 0 ? i / u : 0.0f;
}

}  // namespace faceserve
