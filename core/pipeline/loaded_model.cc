#include "core/pipeline/loaded_model.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/model_card/model_files.h"
#include "core/tensor.h"

namespace faceserve {
namespace {

// `status` with "<prefix>: " before its message, same code.
absl::Status Prefixed(const absl::Status& status, const std::string& prefix) {
  return absl::Status(status.code(), absl::StrCat(prefix, ": ", status.message()));
}

}  // namespace

absl::StatusOr<LoadedModel> LoadModel(const std::string& models_dir, const std::string& file,
                                      const std::string& role, const BatchingOptions& batching,
                                      const ModelLoader& loader, BatchObserver* observer) {
  absl::StatusOr<ModelFiles> files =
      LocateModelFiles(models_dir, file, role, loader.missing_model_hint);
  if (!files.ok()) return files.status();
  LoadedModel m;
  absl::StatusOr<ModelCard> card = LoadModelCard(files->card_path);
  if (!card.ok()) return Prefixed(card.status(), role);
  m.card = *std::move(card);
  absl::StatusOr<std::shared_ptr<ModelRunner>> runner = loader(files->model_path);
  if (!runner.ok()) return Prefixed(runner.status(), role);
  m.runner = *std::move(runner);
  absl::StatusOr<std::unique_ptr<BatchedModel>> batcher =
      BatchedModel::Create(m.card.name, m.runner, batching, nullptr, observer);
  if (!batcher.ok()) return Prefixed(batcher.status(), absl::StrCat(role, ".batching"));
  m.batcher = *std::move(batcher);
  return m;
}

absl::Status PreheatModel(const LoadedModel& m, int max_batch, const std::function<bool()>& stop) {
  for (int b = 1; b <= max_batch; ++b) {
    if (stop && stop()) {
      return absl::CancelledError(
          absl::StrCat("preheating '", m.card.name, "' stopped at batch ", b, ": shutting down"));
    }
    std::vector<int64_t> shape{b};
    shape.insert(shape.end(), m.card.input_shape.begin(), m.card.input_shape.end());
    absl::StatusOr<std::vector<Tensor>> out = m.runner->Run(Tensor(shape));
    if (!out.ok()) {
      return Prefixed(out.status(), absl::StrCat("preheating '", m.card.name, "' at batch ", b));
    }
    if (out->size() < m.card.outputs.size()) {
      return absl::FailedPreconditionError(absl::StrCat("model '", m.card.name, "' returned ",
                                                        out->size(), " outputs, its card lists ",
                                                        m.card.outputs.size()));
    }
  }
  return absl::OkStatus();
}

}  // namespace faceserve
