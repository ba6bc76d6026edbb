// Loads TorchScript models for the configured device. The only header of
// core/torch; it mentions no LibTorch type, so callers compile without it.
#ifndef FACESERVE_CORE_TORCH_TORCH_MODEL_LOADER_H_
#define FACESERVE_CORE_TORCH_TORCH_MODEL_LOADER_H_

#include <memory>
#include <string>

#include "core/config/config.h"
#include "core/cpu_run_slots.h"
#include "core/model_loader.h"

namespace faceserve {

// Sets LibTorch's process-wide thread counts for `device` (intra-op threads
// per forward pass, one inter-op thread; only the first call counts) and
// returns the run slots that CPU forward passes share: cores / threads,
// pinned one per core when `device.pin_cpu_passes` and one thread per pass.
// Null when `device` resolves to CUDA (no CPU passes to share). The caller
// owns the slots and keeps them alive while any model it loads runs.
std::unique_ptr<CpuRunSlots> MakeCpuRunSlots(const DeviceConfig& device);

// Returns a ModelLoader that loads TorchScript files onto the device named by
// `device.device` ("auto" picks CUDA when LibTorch sees a GPU), casts to fp16
// on CUDA when asked, and runs under torch::InferenceMode. CPU models share
// `cpu_slots` (from MakeCpuRunSlots; not owned, may be null: no limit).
ModelLoader MakeTorchModelLoader(const DeviceConfig& device, CpuRunSlots* cpu_slots);

// The device that `device.device` resolves to on this machine, e.g. "cpu".
std::string ResolveTorchDevice(const DeviceConfig& device);

// LibTorch's version string, for build info.
std::string TorchVersion();

// How CPU forward passes share the cores, e.g. "2 CPU forward passes at a
// time, 1 thread each, pinned to cores 0,1 while they run"; "" for null
// slots (CUDA). For the start-up log.
std::string DescribeCpuPasses(const CpuRunSlots* cpu_slots);

}  // namespace faceserve

#endif  // FACESERVE_CORE_TORCH_TORCH_MODEL_LOADER_H_
