#include "core/letterbox.h"

#include <algorithm>
#include <cmath>

namespace faceserve {

Letterbox MakeLetterbox(int width, int height, bool center, float canvas_scale) {
  Letterbox box;
  const int longer = std::max(width, height);
  box.side = canvas_scale > 1.0f ? static_cast<int>(std::lround(longer * canvas_scale)) : longer;
  if (center) {
    const auto before = [&](int extent) {
      const int padding = box.side - extent;
      return padding - static_cast<int>(std::lround(padding * 0.5));
    };
    box.left = before(width);
    box.top = before(height);
  }
  return box;
}

}  // namespace faceserve
