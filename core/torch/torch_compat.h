// The one place that knows about differences between LibTorch versions:
// Debian's 1.13 (CPU) here and the 2.x (CUDA) of a PyTorch install on GPU
// machines. Private to core/torch.
#ifndef FACESERVE_CORE_TORCH_TORCH_COMPAT_H_
#define FACESERVE_CORE_TORCH_TORCH_COMPAT_H_

#include <torch/script.h>
#include <torch/version.h>

#include <memory>
#include <string>

namespace faceserve::torch_compat {

inline std::string Version() { return TORCH_VERSION; }

// True when LibTorch was built with CUDA and sees at least one device.
bool CudaAvailable();
int CudaDeviceCount();
// Makes cuDNN pick the fastest algorithms for the fixed input shapes we use.
void EnableCudnnBenchmark();

// While alive, the calling thread's CUDA work on `device` goes to a stream of
// that thread's own (taken once from LibTorch's pool and kept), so that batch
// workers of different models overlap on the GPU instead of queueing on the
// default stream. Does nothing for a CPU device or in a LibTorch built
// without CUDA (FACESERVE_TORCH_CUDA unset: the c10/cuda headers need CUDA's).
class WorkerStreamGuard {
 public:
  explicit WorkerStreamGuard(const torch::Device& device);
  ~WorkerStreamGuard();
  WorkerStreamGuard(const WorkerStreamGuard&) = delete;
  WorkerStreamGuard& operator=(const WorkerStreamGuard&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace faceserve::torch_compat

#endif  // FACESERVE_CORE_TORCH_TORCH_COMPAT_H_
