// Column conversions shared by the SQLite gallery store's files: embeddings
// as float32 blobs, metadata as a JSON object of strings.
#ifndef FACESERVE_CORE_GALLERY_SQLITE_ROWS_H_
#define FACESERVE_CORE_GALLERY_SQLITE_ROWS_H_

#include <string>
#include <vector>

#include "core/gallery/gallery_store.h"

namespace SQLite {
class Column;
}  // namespace SQLite

namespace faceserve {

std::vector<float> EmbeddingFromBlob(const SQLite::Column& column);
std::string MetadataToJson(const Metadata& metadata);
// Non-string values and text that is not a JSON object are dropped.
Metadata MetadataFromJson(const std::string& text);

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_SQLITE_ROWS_H_
