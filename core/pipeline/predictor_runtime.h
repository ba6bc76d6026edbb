// PredictorRuntime: a configured predictor with its model loaded and
// everything its model card settles (crop size, label lists, which head gives
// landmarks or an embedding), checked once at start-up.
#ifndef FACESERVE_CORE_PIPELINE_PREDICTOR_RUNTIME_H_
#define FACESERVE_CORE_PIPELINE_PREDICTOR_RUNTIME_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/config/config.h"
#include "core/pipeline/loaded_model.h"
#include "core/types.h"

namespace faceserve {

struct PredictorRuntime {
  PredictorConfig config;  // labels filled from the card
  LoadedModel model;
  int crop_size = 0;
  int landmark_head = -1;   // index into config.heads of a kLandmarks head
  int embedding_head = -1;  // index into config.heads of a kEmbedding head
  int64_t embedding_size = 0;
  bool needs_landmarks = false;  // its crop needs 68 landmarks (second phase)
  size_t slot = 0;               // its index among the configured predictors
};

// What `p` (a predictor with an embedding head) makes, for galleries.
EmbeddingModelInfo DescribeEmbedding(const PredictorRuntime& p);

// The embedding head's result of `face` for predictor `p`, or null.
const HeadResult* EmbeddingOf(const Face& face, const PredictorRuntime* p);

// Checks `config` against the card of `model` (square input of crop.size,
// head outputs that exist, one label per class) and fills what the card
// settles. `role` prefixes errors, e.g. "predictors.2 (embedding)".
absl::StatusOr<std::unique_ptr<PredictorRuntime>> ResolvePredictor(const PredictorConfig& config,
                                                                   LoadedModel model,
                                                                   const std::string& role);

}  // namespace faceserve

#endif  // FACESERVE_CORE_PIPELINE_PREDICTOR_RUNTIME_H_
