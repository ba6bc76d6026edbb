#include "core/torch/torch_model_runner.h"

#include <exception>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/torch/torch_compat.h"

namespace faceserve {
namespace {

// Appends every tensor found in a model output (a tensor or a tuple/list of
// them) in order.
absl::Status CollectOutputs(const c10::IValue& value, std::vector<at::Tensor>* out) {
  if (value.isTensor()) {
    out->push_back(value.toTensor());
  } else if (value.isTuple()) {
    for (const auto& element : value.toTupleRef().elements()) {
      absl::Status s = CollectOutputs(element, out);
      if (!s.ok()) return s;
    }
  } else if (value.isList()) {
    const c10::List<c10::IValue> list = value.toList();
    for (size_t i = 0; i < list.size(); ++i) {
      absl::Status s = CollectOutputs(list.get(i), out);
      if (!s.ok()) return s;
    }
  } else {
    return absl::InternalError(
        absl::StrCat("model returned an unsupported output type: ", value.tagKind()));
  }
  return absl::OkStatus();
}

}  // namespace

TorchModelRunner::TorchModelRunner(torch::jit::Module module, torch::Device device, bool fp16,
                                   std::string path, CpuRunSlots* cpu_slots)
    : module_(std::move(module)),
      device_(device),
      fp16_(fp16),
      path_(std::move(path)),
      cpu_slots_(device.is_cuda() ? nullptr : cpu_slots) {}

absl::StatusOr<std::unique_ptr<TorchModelRunner>> TorchModelRunner::Load(
    const std::string& path, const torch::Device& device, bool fp16, bool optimize,
    CpuRunSlots* cpu_slots) {
  try {
    torch::jit::Module module = torch::jit::load(path, device);
    module.eval();
    if (fp16) module.to(torch::kHalf);
    if (optimize) {
      torch::jit::Module frozen = torch::jit::freeze(module);
      module = torch::jit::optimize_for_inference(frozen);
    }
    return std::unique_ptr<TorchModelRunner>(
        new TorchModelRunner(std::move(module), device, fp16, path, cpu_slots));
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot load TorchScript model '", path, "': ", e.what()));
  }
}

absl::StatusOr<std::vector<Tensor>> TorchModelRunner::Run(const Tensor& input) {
  if (input.shape.size() != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("model input must be [N,C,H,W], got ", input.ShapeString()));
  }
  try {
    c10::InferenceMode guard;
    // The upload, the forward pass and the download below all run on this
    // worker thread's own CUDA stream (no-op on CPU).
    torch_compat::WorkerStreamGuard stream(device_);
    at::Tensor host = torch::from_blob(const_cast<float*>(input.data.data()), input.shape,
                                       torch::TensorOptions().dtype(torch::kFloat32));
    at::Tensor x;
    if (device_.is_cuda()) {
      // Pinned staging buffer so the upload is a fast DMA.
      x = host.pin_memory().to(device_, /*non_blocking=*/true);
    } else {
      x = host;
    }
    if (fp16_) x = x.to(torch::kHalf);
    std::vector<c10::IValue> inputs{x};
    c10::IValue result;
    {
      CpuRunSlots::Hold slot(cpu_slots_);
      result = module_.forward(inputs);
    }
    std::vector<at::Tensor> outputs;
    absl::Status s = CollectOutputs(result, &outputs);
    if (!s.ok()) return s;
    std::vector<Tensor> converted;
    converted.reserve(outputs.size());
    for (const at::Tensor& t : outputs) {
      at::Tensor c = t.to(torch::kCPU, torch::kFloat32).contiguous();
      Tensor o;
      o.shape.assign(c.sizes().begin(), c.sizes().end());
      o.data.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
      converted.push_back(std::move(o));
    }
    return converted;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("model '", path_, "' failed on input ",
                                            input.ShapeString(), ": ", e.what()));
  }
}

}  // namespace faceserve
