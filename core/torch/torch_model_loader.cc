#include "core/torch/torch_model_loader.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

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
// parallel work.
// Returns the CPU run slots shared by every CPU model: cores / threads, each
// pinned to its own core when there is one thread per pass and `pin` is set
// (a team of several threads would keep the affinity its threads were born
// with, so only single-thread passes are pinned).
std::once_flag threads_configured;
CpuRunSlots* cpu_slots = nullptr;  // set once, under threads_configured
int cpu_pass_threads = 0;

CpuRunSlots* ConfigureThreadsOnce(int intra_op_threads, bool pin) {
  std::call_once(threads_configured, [intra_op_threads, pin] {
    const std::vector<int> cpus = AllowedCpus();
    const int cores = static_cast<int>(cpus.size());
    int threads = intra_op_threads;
    if (threads <= 0) threads = cores;
    cpu_slots = new CpuRunSlots(std::max(1, cores / threads),  // process lifetime
                                pin && threads == 1 ? cpus : std::vector<int>{});
    cpu_pass_threads = threads;
    at::set_num_threads(threads);
    LimitBlasThreads(threads);
    try {
      at::set_num_interop_threads(1);
    } catch (const std::exception&) {
      // Already set by someone else; harmless.
    }
  });
  return cpu_slots;
}

}  // namespace

std::string ResolveTorchDevice(const DeviceConfig& device) {
  absl::StatusOr<torch::Device> d = ParseDevice(device.device);
  return d.ok() ? d->str() : "invalid";
}

std::string TorchVersion() { return torch_compat::Version(); }

std::string DescribeCpuPasses() {
  if (cpu_slots == nullptr) return "";
  const int n = cpu_slots->total();
  std::string s = absl::StrCat(n, " CPU forward ", n == 1 ? "pass" : "passes", " at a time, ",
                               cpu_pass_threads, cpu_pass_threads == 1 ? " thread" : " threads",
                               " each");
  if (cpu_slots->pinning()) {
    absl::StrAppend(&s, ", pinned to ", n == 1 ? "core " : "cores ",
                    absl::StrJoin(cpu_slots->cpus(), ","), " while they run");
  }
  return s;
}

ModelLoader MakeTorchModelLoader(const DeviceConfig& device) {
  return [device](const std::string& path) -> absl::StatusOr<std::shared_ptr<ModelRunner>> {
    absl::StatusOr<torch::Device> d = ParseDevice(device.device);
    if (!d.ok()) return d.status();
    CpuRunSlots* slots = nullptr;
    if (d->is_cuda()) {
      torch_compat::EnableCudnnBenchmark();
    } else {
      slots = ConfigureThreadsOnce(device.intra_op_threads, device.pin_cpu_passes);
    }
    const bool fp16 = device.fp16 && d->is_cuda();
    auto runner = TorchModelRunner::Load(path, *d, fp16, device.optimize_for_inference, slots);
    if (!runner.ok()) return runner.status();
    return std::shared_ptr<ModelRunner>(std::move(*runner));
  };
}

}  // namespace faceserve
