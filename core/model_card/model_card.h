// ModelCard: what the exporter wrote about a model (models/<name>.yaml beside
// <name>.pt): input geometry, outputs and labels, provenance. The pipeline
// reads it so that adding a model needs a file and a YAML block, no C++.
#ifndef FACESERVE_CORE_MODEL_CARD_MODEL_CARD_H_
#define FACESERVE_CORE_MODEL_CARD_MODEL_CARD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace faceserve {

struct ModelCardOutput {
  std::string name;
  std::vector<int64_t> shape;  // without the batch dimension
  std::string kind;            // free text from the card, e.g. "classification"
  std::vector<std::string> labels;
};

struct ModelCard {
  std::string name;
  std::string version;
  std::string task;
  std::vector<int64_t> input_shape;  // [C, H, W]
  // Detectors: how the image is padded to a square before resizing.
  bool letterbox_center = false;
  std::vector<ModelCardOutput> outputs;
  std::string license;

  int input_height() const { return input_shape.size() == 3 ? static_cast<int>(input_shape[1]) : 0; }
  int input_width() const { return input_shape.size() == 3 ? static_cast<int>(input_shape[2]) : 0; }
};

// Reads the card at `path`. NOT_FOUND when missing; INVALID_ARGUMENT naming
// the key when malformed.
absl::StatusOr<ModelCard> LoadModelCard(const std::string& path);

// The card path for a model file: same path with the extension ".yaml".
std::string ModelCardPathFor(const std::string& model_path);

}  // namespace faceserve

#endif  // FACESERVE_CORE_MODEL_CARD_MODEL_CARD_H_
