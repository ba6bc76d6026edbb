#include "core/gallery/sqlite_rows.h"

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Exception.h>
#include <sqlite3.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/error_reason.h"

namespace faceserve {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "embeddings are stored as little-endian float32, copied as they are in memory");

std::vector<float> EmbeddingFromBlob(const SQLite::Column& column) {
  std::vector<float> embedding(static_cast<size_t>(column.getBytes()) / sizeof(float));
  if (!embedding.empty()) std::memcpy(embedding.data(), column.getBlob(), embedding.size() * 4);
  return embedding;
}

absl::Status SqliteStorageError(const std::string& what, const SQLite::Exception& e) {
  const int code = e.getErrorCode();
  const std::string message = absl::StrCat(what, ": ", e.what());
  // A damaged file is data loss, not a passing failure.
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) {
    return WithReason(absl::DataLossError(message), ErrorReason::kStorageError);
  }
  return WithReason(absl::InternalError(message), ErrorReason::kStorageError);
}

}  // namespace faceserve
