#include "core/gallery/sqlite_enroll_receipts.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "absl/strings/str_cat.h"
#include "core/gallery/store_errors.h"

namespace faceserve {

absl::StatusOr<std::optional<std::string>> FindReceiptRow(SQLite::Database& db,
                                                          int64_t gallery_id,
                                                          const std::string& key,
                                                          const std::string& request_hash,
                                                          int64_t not_before_unix_ms) {
  SQLite::Statement q(db,
                      "SELECT request_hash, response FROM enroll_receipts "
                      "WHERE gallery_id = ? AND key = ? AND created_unix_ms >= ?");
  q.bind(1, gallery_id);
  q.bind(2, key);
  q.bind(3, not_before_unix_ms);
  if (!q.executeStep()) return std::nullopt;
  if (q.getColumn(0).getString() != request_hash) return IdempotencyKeyReusedError(key);
  const SQLite::Column response = q.getColumn(1);
  return std::string(static_cast<const char*>(response.getBlob()),
                     static_cast<size_t>(response.getBytes()));
}

absl::Status StoreReceiptRow(SQLite::Database& db, int64_t gallery_id,
                             const EnrollReceipt& receipt, const std::vector<int64_t>& face_ids,
                             int64_t now_unix_ms, int64_t not_before_unix_ms) {
  SQLite::Statement expire(db, "DELETE FROM enroll_receipts WHERE created_unix_ms < ?");
  expire.bind(1, not_before_unix_ms);
  expire.exec();
  SQLite::Statement insert(db,
                           "INSERT INTO enroll_receipts (gallery_id, key, request_hash, response, "
                           "created_unix_ms) VALUES (?, ?, ?, ?, ?) "
                           "ON CONFLICT (gallery_id, key) DO NOTHING");
  const std::string response = receipt.make_response(face_ids);
  insert.bind(1, gallery_id);
  insert.bind(2, receipt.key);
  insert.bind(3, receipt.request_hash);
  insert.bind(4, response.data(), static_cast<int>(response.size()));
  insert.bind(5, now_unix_ms);
  if (insert.exec() == 0) return IdempotencyKeyReusedError(receipt.key);
  return absl::OkStatus();
}

}  // namespace faceserve
