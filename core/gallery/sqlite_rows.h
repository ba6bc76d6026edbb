// Column conversions shared by the SQLite gallery store's files (embeddings
// as float32 blobs; metadata: core/gallery/metadata_json.h), and the status
// of a failed SQLite call.
#ifndef FACESERVE_CORE_GALLERY_SQLITE_ROWS_H_
#define FACESERVE_CORE_GALLERY_SQLITE_ROWS_H_

#include <string>
#include <vector>

#include "core/gallery/gallery_store.h"
#include "core/gallery/metadata_json.h"

#include "absl/status/status.h"

namespace SQLite {
class Column;
class Exception;
}  // namespace SQLite

namespace faceserve {

std::vector<float> EmbeddingFromBlob(const SQLite::Column& column);

// STORAGE_ERROR: DATA_LOSS for a damaged file (a corrupt page, not a
// database), INTERNAL otherwise; `what` says what was being done.
absl::Status SqliteStorageError(const std::string& what, const SQLite::Exception& e);

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_SQLITE_ROWS_H_
