// TorchModelRunner: a TorchScript module resident on one device. Private to
// core/torch: the rest of the code sees only ModelRunner.
#ifndef FACESERVE_CORE_TORCH_TORCH_MODEL_RUNNER_H_
#define FACESERVE_CORE_TORCH_TORCH_MODEL_RUNNER_H_

#include <torch/script.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/model_runner.h"
#include "core/cpu_run_slots.h"

namespace faceserve {

// Loaded once and kept on its device; Run() copies the batch in, runs the
// forward pass under InferenceMode and copies the outputs back as float32.
// With `optimize`, the module is frozen and passed through LibTorch's
// optimize_for_inference (constant folding, conv/batch-norm folding, and on
// CPU oneDNN convolutions) once at load. On CPU a forward pass first takes a
// slot of `cpu_slots` (not owned; may be null for no limit), unless its
// thread already holds one (a batch worker takes it before forming a batch).
// Thread-safe: concurrent Run() calls are allowed (forward() of a TorchScript
// module does not mutate it).
class TorchModelRunner final : public ModelRunner {
 public:
  static absl::StatusOr<std::unique_ptr<TorchModelRunner>> Load(
      const std::string& path, const torch::Device& device, bool fp16, bool optimize,
      CpuRunSlots* cpu_slots);

  absl::StatusOr<std::vector<Tensor>> Run(const Tensor& input) override;
  std::string device() const override { return device_.str(); }
  std::string dtype() const override { return fp16_ ? "float16" : "float32"; }
  CpuRunSlots* run_slots() const override { return cpu_slots_; }

 private:
  TorchModelRunner(torch::jit::Module module, torch::Device device, bool fp16, std::string path,
                   CpuRunSlots* cpu_slots);

  // Constant after construction.
  torch::jit::Module module_;
  const torch::Device device_;
  const bool fp16_;
  const std::string path_;
  CpuRunSlots* const cpu_slots_;  // null: no limit (CUDA)
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_TORCH_TORCH_MODEL_RUNNER_H_
