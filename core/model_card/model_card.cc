#include "core/model_card/model_card.h"

#include <yaml-cpp/yaml.h>

#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace faceserve {
namespace {

std::vector<int64_t> ReadShape(const YAML::Node& node) {
  std::vector<int64_t> shape;
  if (node && node.IsSequence()) {
    for (const auto& d : node) shape.push_back(d.as<int64_t>());
  }
  return shape;
}

}  // namespace

std::string ModelCardPathFor(const std::string& model_path) {
  const size_t slash = model_path.find_last_of('/');
  const size_t dot = model_path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) {
    return model_path + ".yaml";
  }
  return model_path.substr(0, dot) + ".yaml";
}

absl::StatusOr<ModelCard> LoadModelCard(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("model card not found: ", path));
  try {
    YAML::Node root = YAML::LoadFile(path);
    ModelCard card;
    card.name = root["name"].as<std::string>("");
    if (card.name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": missing key 'name'"));
    }
    card.version = root["version"].as<std::string>("");
    card.task = root["task"].as<std::string>("");
    card.license = root["license"].as<std::string>("");
    const YAML::Node input = root["input"];
    if (!input) return absl::InvalidArgumentError(absl::StrCat(path, ": missing key 'input'"));
    card.input_shape = ReadShape(input["shape"]);
    if (card.input_shape.size() != 3) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": input.shape must be [C, H, W]"));
    }
    card.letterbox_center = input["letterbox"].as<std::string>("top_left") == "center";
    for (const auto& o : root["outputs"]) {
      ModelCardOutput out;
      out.name = o["name"].as<std::string>("");
      out.shape = ReadShape(o["shape"]);
      out.kind = o["kind"].as<std::string>("");
      if (o["labels"]) {
        for (const auto& l : o["labels"]) out.labels.push_back(l.as<std::string>());
      }
      card.outputs.push_back(std::move(out));
    }
    if (card.outputs.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": no 'outputs'"));
    }
    return card;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", e.what()));
  }
}

}  // namespace faceserve
