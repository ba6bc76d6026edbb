// LoadedModel: one model file loaded once, with its card and its batcher;
// and its preheating. The detector and every predictor are one each.
#ifndef FACESERVE_CORE_PIPELINE_LOADED_MODEL_H_
#define FACESERVE_CORE_PIPELINE_LOADED_MODEL_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/batching/batched_model.h"
#include "core/batching/batching_options.h"
#include "core/model_card/model_card.h"
#include "core/model_loader.h"
#include "core/model_runner.h"

namespace faceserve {

struct LoadedModel {
  ModelCard card;
  std::shared_ptr<ModelRunner> runner;
  std::unique_ptr<BatchedModel> batcher;
};

// Finds `file` in `models_dir` with its card, loads it through `loader` and
// starts its batcher. Errors name `role` (e.g. "detector",
// "predictors.2 (embedding)") and the file, so a configuration mistake points
// at its key.
absl::StatusOr<LoadedModel> LoadModel(const std::string& models_dir, const std::string& file,
                                      const std::string& role, const BatchingOptions& batching,
                                      const ModelLoader& loader, BatchObserver* observer);

// Runs `model` on zeros at every batch size 1..max_batch, so that the first
// real request at each size does not pay LibTorch's optimisation passes.
// Checks `stop` before each size and returns CANCELLED once it is true.
// Checks the outputs against the card.
absl::Status PreheatModel(const LoadedModel& model, int max_batch,
                          const std::function<bool()>& stop);

}  // namespace faceserve

#endif  // FACESERVE_CORE_PIPELINE_LOADED_MODEL_H_
