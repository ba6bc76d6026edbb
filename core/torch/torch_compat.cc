#include "core/torch/torch_compat.h"

#include <ATen/Context.h>
#include <torch/cuda.h>

namespace faceserve::torch_compat {

bool CudaAvailable() { return torch::cuda::is_available(); }
int CudaDeviceCount() { return static_cast<int>(torch::cuda::device_count()); }
void EnableCudnnBenchmark() { at::globalContext().setBenchmarkCuDNN(true); }

}  // namespace faceserve::torch_compat
