#include "core/pipeline/predictor_runtime.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/tensor.h"

namespace faceserve {

EmbeddingModelInfo DescribeEmbedding(const PredictorRuntime& p) {
  return EmbeddingModelInfo{p.config.name, absl::StrCat(p.model.card.name, "@", p.model.card.version),
                            static_cast<int>(p.embedding_size), p.config.verify_threshold};
}

absl::StatusOr<std::unique_ptr<PredictorRuntime>> ResolvePredictor(const PredictorConfig& config,
                                                                   LoadedModel model,
                                                                   const std::string& role) {
  auto p = std::make_unique<PredictorRuntime>();
  p->config = config;
  p->model = std::move(model);
  const ModelCard& card = p->model.card;
  p->crop_size = config.crop.size > 0 ? config.crop.size : card.input_height();
  if (card.input_height() != card.input_width() || p->crop_size != card.input_height()) {
    return absl::InvalidArgumentError(absl::StrCat(role, ".crop.size: model '", card.name,
                                                   "' takes ", card.input_width(), "x",
                                                   card.input_height(), " inputs"));
  }
  for (size_t h = 0; h < p->config.heads.size(); ++h) {
    HeadConfig& head = p->config.heads[h];
    if (head.output < 0 || head.output >= static_cast<int>(card.outputs.size())) {
      return absl::InvalidArgumentError(absl::StrCat(role, ".heads.", h, ".output: model '",
                                                     card.name, "' has ", card.outputs.size(),
                                                     " outputs"));
    }
    const ModelCardOutput& out = card.outputs[head.output];
    const bool classes =
        head.kind == HeadKind::kClassification || head.kind == HeadKind::kMultiLabel;
    if (classes && head.labels.empty()) head.labels = out.labels;
    const int64_t values = Tensor::NumElements(out.shape);
    if (classes && static_cast<int64_t>(head.labels.size()) != values) {
      return absl::InvalidArgumentError(
          absl::StrCat(role, ".heads.", h, ".labels: ", head.labels.size(), " labels for ", values,
                       " outputs of model '", card.name, "'"));
    }
    if (head.kind == HeadKind::kLandmarks && p->landmark_head < 0) p->landmark_head = h;
    if (head.kind == HeadKind::kEmbedding && p->embedding_head < 0) {
      p->embedding_head = h;
      p->embedding_size = values;
    }
  }
  return p;
}

const HeadResult* EmbeddingOf(const Face& face, const PredictorRuntime* p) {
  for (const Prediction& pred : face.predictions) {
    if (pred.predictor == p->config.name &&
        p->embedding_head < static_cast<int>(pred.heads.size())) {
      return &pred.heads[p->embedding_head];
    }
  }
  return nullptr;
}

}  // namespace faceserve
