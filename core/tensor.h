// A dense float32 tensor on the host: the currency between the pipeline and
// the model runners. Plain data, no LibTorch, so most of the code compiles and
// tests without it.
#ifndef FACESERVE_CORE_TENSOR_H_
#define FACESERVE_CORE_TENSOR_H_

#include <cstdint>
#include <string>
#include <vector>

namespace faceserve {

struct Tensor {
  std::vector<int64_t> shape;  // row-major; empty shape means a scalar
  std::vector<float> data;     // size == product of shape

  Tensor() = default;
  Tensor(std::vector<int64_t> shape_in, std::vector<float> data_in)
      : shape(std::move(shape_in)), data(std::move(data_in)) {}
  explicit Tensor(std::vector<int64_t> shape_in)
      : shape(std::move(shape_in)), data(NumElements(shape), 0.0f) {}

  static int64_t NumElements(const std::vector<int64_t>& shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  int64_t num_elements() const { return NumElements(shape); }
  std::string ShapeString() const;
};

// Stacks items of identical shape into one tensor with a new leading batch
// dimension. Precondition: items is non-empty and all shapes are equal.
Tensor StackBatch(const std::vector<const Tensor*>& items);

// Returns row `index` of the leading dimension (the batch item), shape
// without that dimension.
Tensor SliceBatch(const Tensor& batch, int64_t index);

}  // namespace faceserve

#endif  // FACESERVE_CORE_TENSOR_H_
