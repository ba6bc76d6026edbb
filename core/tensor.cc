#include "core/tensor.h"

#include <algorithm>
#include <cassert>

namespace faceserve {

std::string Tensor::ShapeString() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Tensor StackBatch(const std::vector<const Tensor*>& items) {
  assert(!items.empty());
  Tensor out;
  out.shape.push_back(static_cast<int64_t>(items.size()));
  out.shape.insert(out.shape.end(), items[0]->shape.begin(), items[0]->shape.end());
  const size_t per_item = items[0]->data.size();
  out.data.reserve(per_item * items.size());  // filled by the copies alone, no zeroing first
  for (const Tensor* item : items) {
    assert(item->data.size() == per_item);
    out.data.insert(out.data.end(), item->data.begin(), item->data.end());
  }
  return out;
}

Tensor SliceBatch(const Tensor& batch, int64_t index) {
  Tensor out;
  out.shape.assign(batch.shape.begin() + 1, batch.shape.end());
  const int64_t per_item = Tensor::NumElements(out.shape);
  out.data.assign(batch.data.begin() + index * per_item, batch.data.begin() + (index + 1) * per_item);
  return out;
}

}  // namespace faceserve
