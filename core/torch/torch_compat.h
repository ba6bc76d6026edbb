// The one place that knows about differences between LibTorch versions:
// Debian's 1.13 (CPU) here and the 2.x (CUDA) of a PyTorch install on GPU
// machines. Private to core/torch.
#ifndef FACESERVE_CORE_TORCH_TORCH_COMPAT_H_
#define FACESERVE_CORE_TORCH_TORCH_COMPAT_H_

#include <torch/script.h>
#include <torch/version.h>

#include <string>

namespace faceserve::torch_compat {

inline std::string Version() { return TORCH_VERSION; }

// True when LibTorch was built with CUDA and sees at least one device.
bool CudaAvailable();
int CudaDeviceCount();
// Makes cuDNN pick the fastest algorithms for the fixed input shapes we use.
void EnableCudnnBenchmark();

}  // namespace faceserve::torch_compat

#endif  // FACESERVE_CORE_TORCH_TORCH_COMPAT_H_
