#include "core/torch/torch_compat.h"

#include <optional>

#include <ATen/Context.h>
#include <torch/cuda.h>

#if FACESERVE_TORCH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace faceserve::torch_compat {

bool CudaAvailable() { return torch::cuda::is_available(); }
int CudaDeviceCount() { return static_cast<int>(torch::cuda::device_count()); }
void EnableCudnnBenchmark() { at::globalContext().setBenchmarkCuDNN(true); }

struct WorkerStreamGuard::Impl {
#if FACESERVE_TORCH_CUDA
  explicit Impl(const c10::cuda::CUDAStream& stream) : guard(stream) {}
  c10::cuda::CUDAStreamGuard guard;
#endif
};

WorkerStreamGuard::WorkerStreamGuard(const torch::Device& device) {
#if FACESERVE_TORCH_CUDA
  if (!device.is_cuda()) return;
  // One stream per thread: a batch worker thread serves one model on one
  // device, so its stream never changes.
  thread_local std::optional<c10::cuda::CUDAStream> stream;
  const c10::DeviceIndex index = device.has_index() ? device.index() : 0;
  if (!stream.has_value() || stream->device_index() != index) {
    stream = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, index);
  }
  impl_ = std::make_unique<Impl>(*stream);
#else
  (void)device;
#endif
}

WorkerStreamGuard::~WorkerStreamGuard() = default;

}  // namespace faceserve::torch_compat
