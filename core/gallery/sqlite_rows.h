// Column conversions shared by the SQLite gallery store's files: embeddings
// as float32 blobs, metadata as a JSON object of strings; and the status of
// a failed SQLite call.
#ifndef FACESERVE_CORE_GALLERY_SQLITE_ROWS_H_
#define FACESERVE_CORE_GALLERY_SQLITE_ROWS_H_

#include <string>
#include <vector>

#include "core/gallery/gallery_store.h"

#include "absl/status/status.h"

namespace SQLite {
class Column;
class Exception;
}  // namespace SQLite

namespace faceserve {

std::vector<float> EmbeddingFromBlob(const SQLite::Column& column);
std::string MetadataToJson(const Metadata& metadata);
// Non-string values and text that is not a JSON object are dropped.
Metadata MetadataFromJson(const std::string& text);

// STORAGE_ERROR: DATA_LOSS for a damaged file (a corrupt page, not a
// database), INTERNAL otherwise; `what` says what was being done.
absl::Status SqliteStorageError(const std::string& what, const SQLite::Exception& e);

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_SQLITE_ROWS_H_
