#include "core/torch/torch_model_loader.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/torch/torch_compat.h"
#include "core/torch/torch_model_runner.h"

namespace faceserve {
namespace {

absl::StatusOr<torch::Device> ParseDevice(const std::string& name) {
  if (name == "auto") {
    return torch_compat::CudaAvailable() ? torch::Device(torch::kCUDA, 0)
                                         : torch::Device(torch::kCPU);
  }
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name == "cuda" || absl::StartsWith(name, "cuda:")) {
    int index = 0;
    if (name != "cuda" && !absl::SimpleAtoi(name.substr(5), &index)) {
      return absl::InvalidArgumentError(absl::StrCat("device: bad CUDA index in '", name, "'"));
    }
    if (!torch_compat::CudaAvailable()) {
      return absl::FailedPreconditionError(
          absl::StrCat("device: '", name, "' requested but LibTorch sees no CUDA device"));
    }
    if (index < 0 || index >= torch_compat::CudaDeviceCount()) {
      return absl::InvalidArgumentError(absl::StrCat("device: no CUDA device ", index));
    }
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("device: expected auto, cpu, cuda or cuda:N, got '", name, "'"));
}

// Debian's LibTorch does its matrix products (linear layers, some
// convolutions) in OpenBLAS, which keeps its own thread pool, one thread per
// core, that at::set_num_threads does not size. Size it to the intra-op count
// too, so that concurrent forward passes never use more threads than cores.
// Looked up at run time: other LibTorch builds (MKL, CUDA wheels) lack it.
void LimitBlasThreads(int threads) {
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set(threads);
  }
}

// Thread settings are process-wide and may be set only once, before any
// parallel work; the first call's count stays.
std::once_flag threads_configured;
std::atomic<int> cpu_pass_threads{0};

int ConfigureThreadsOnce(int threads) {
  std::call_once(threads_configured, [threads] {
    cpu_pass_threads = threads;
    at::set_num_threads(threads);
    LimitBlasThreads(threads);
    try {
      at::set_num_interop_threads(1);
    } catch (const std::exception&) {
      // Already set by someone else; harmless.
    }
  });
  return cpu_pass_threads.load();
}

}  // namespace

std::string ResolveTorchDevice(const DeviceConfig& device) {
  absl::StatusOr<torch::Device> d = ParseDevice(device.device);
  return d.ok() ? d->str() : "invalid";
}

std::string TorchVersion() { return torch_compat::Version(); }

std::unique_ptr<CpuRunSlots> MakeCpuRunSlots(const DeviceConfig& device) {
  absl::StatusOr<torch::Device> d = ParseDevice(device.device);
  if (d.ok() && d->is_cuda()) return nullptr;
  const std::vector<int> cpus = AllowedCpus();
  const int cores = static_cast<int>(cpus.size());
  const int threads =
      ConfigureThreadsOnce(device.intra_op_threads > 0 ? device.intra_op_threads : cores);
  // A team of several threads keeps the affinity its threads were born
  // with, so only single-thread passes are pinned.
  return std::make_unique<CpuRunSlots>(
      std::max(1, cores / threads),
      device.pin_cpu_passes && threads == 1 ? cpus : std::vector<int>{});
}

std::string DescribeCpuPasses(const CpuRunSlots* cpu_slots) {
  if (cpu_slots == nullptr) return "";
  const int n = cpu_slots->total();
  const int threads = cpu_pass_threads.load();
  std::string s = absl::StrCat(n, " CPU forward ", n == 1 ? "pass" : "passes", " at a time, ",
                               threads, threads == 1 ? " thread" : " threads", " each");
  if (cpu_slots->pinning()) {
    absl::StrAppend(&s, ", pinned to ", n == 1 ? "core " : "cores ",
                    absl::StrJoin(cpu_slots->cpus(), ","), " while they run");
  }
  return s;
}

ModelLoader MakeTorchModelLoader(const DeviceConfig& device, CpuRunSlots* cpu_slots) {
  return
      [device, cpu_slots](const std::string& path) -> absl::StatusOr<std::shared_ptr<ModelRunner>> {
        absl::StatusOr<torch::Device> d = ParseDevice(device.device);
        if (!d.ok()) return d.status();
        CpuRunSlots* slots = nullptr;
        if (d->is_cuda()) {
          torch_compat::EnableCudnnBenchmark();
        } else {
          slots = cpu_slots;
        }
        const bool fp16 = device.fp16 && d->is_cuda();
        auto runner = TorchModelRunner::Load(path, *d, fp16, device.optimize_for_inference, slots);
        if (!runner.ok()) return runner.status();
        return std::shared_ptr<ModelRunner>(std::move(*runner));
      };
}

}  // namespace faceserve
