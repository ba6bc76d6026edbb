#include "core/gallery/metadata_json.h"

#include <nlohmann/json.hpp>

namespace faceserve {

std::string MetadataToJson(const Metadata& metadata) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [key, value] : metadata) j[key] = value;
  return j.dump();
}

Metadata MetadataFromJson(const std::string& text) {
  Metadata metadata;
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return metadata;
  for (const auto& [key, value] : j.items()) {
    if (value.is_string()) metadata[key] = value.get<std::string>();
  }
  return metadata;
}

}  // namespace faceserve
