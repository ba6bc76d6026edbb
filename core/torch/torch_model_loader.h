// Loads TorchScript models for the configured device. The only header of
// core/torch; it mentions no LibTorch type, so callers compile without it.
#ifndef FACESERVE_CORE_TORCH_TORCH_MODEL_LOADER_H_
#define FACESERVE_CORE_TORCH_TORCH_MODEL_LOADER_H_

#include <string>

#include "core/config/config.h"
#include "core/pipeline/face_pipeline.h"

namespace faceserve {

// Returns a ModelLoader that loads TorchScript files onto the device named by
// `device.device` ("auto" picks CUDA when LibTorch sees a GPU), casts to fp16
// on CUDA when asked, and runs under torch::InferenceMode. Also sets the
// process-wide intra-op thread count.
ModelLoader MakeTorchModelLoader(const DeviceConfig& device);

// The device that `device.device` resolves to on this machine, e.g. "cpu".
std::string ResolveTorchDevice(const DeviceConfig& device);

// LibTorch's version string, for build info.
std::string TorchVersion();

// How CPU forward passes share the cores, e.g. "2 CPU forward passes at a
// time, 1 thread each, pinned to cores 0,1 while they run"; "" before a
// CPU model was loaded (or with CUDA models only). For the start-up log.
std::string DescribeCpuPasses();

}  // namespace faceserve

#endif  // FACESERVE_CORE_TORCH_TORCH_MODEL_LOADER_H_
