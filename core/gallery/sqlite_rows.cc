#include "core/gallery/sqlite_rows.h"

#include <SQLiteCpp/Column.h>

#include <cstring>

#include <nlohmann/json.hpp>

namespace faceserve {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "embeddings are stored as little-endian float32, copied as they are in memory");

std::vector<float> EmbeddingFromBlob(const SQLite::Column& column) {
  std::vector<float> embedding(static_cast<size_t>(column.getBytes()) / sizeof(float));
  if (!embedding.empty()) std::memcpy(embedding.data(), column.getBlob(), embedding.size() * 4);
  return embedding;
}

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
