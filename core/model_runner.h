// The interface between the pipeline and a neural network. Implementations:
// TorchModelRunner (core/torch/, the only code that sees LibTorch) and the
// fakes in tests/. The pipeline never knows which device a model runs on.
#ifndef FACESERVE_CORE_MODEL_RUNNER_H_
#define FACESERVE_CORE_MODEL_RUNNER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/cpu_run_slots.h"
#include "core/tensor.h"

namespace faceserve {

// Runs one loaded model on a batch. Thread-safety: Run() may be called from
// several threads at once (LibTorch modules are safe for concurrent forward
// passes); implementations must keep that true.
class ModelRunner {
 public:
  virtual ~ModelRunner() = default;

  // input: [N, C, H, W] float32, RGB in 0..255 (every faceserve model
  // normalises inside its graph). Returns the model's outputs, each with the
  // leading dimension N, in the order of the model card's `outputs`.
  // Errors: INVALID_ARGUMENT for a shape the model cannot take, INTERNAL for
  // a failure inside the model.
  virtual absl::StatusOr<std::vector<Tensor>> Run(const Tensor& input) = 0;

  // Human-readable device, e.g. "cpu", "cuda:0".
  virtual std::string device() const = 0;
  // "float32" or "float16".
  virtual std::string dtype() const = 0;

  // The CPU run slots this model's forward passes share with the other CPU
  // models (not owned), or nullptr when it needs none (CUDA, fakes). Run()
  // takes one itself; a batcher takes one first, before it forms the batch,
  // so that items queued while it waited for a core join that batch.
  virtual CpuRunSlots* run_slots() const { return nullptr; }
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_MODEL_RUNNER_H_
