// Enroll's idempotency receipts in the SQLite gallery database (table
// enroll_receipts, schema version 2): a key, the request's fingerprint and
// the response it got. Helpers of SqliteGalleryStore, called under its lock
// inside its transactions; they throw SQLite::Exception like the rest.
#ifndef FACESERVE_CORE_GALLERY_SQLITE_ENROLL_RECEIPTS_H_
#define FACESERVE_CORE_GALLERY_SQLITE_ENROLL_RECEIPTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/gallery/gallery_store.h"

namespace SQLite {
class Database;
}  // namespace SQLite

namespace faceserve {

// The response stored for `key` in gallery row `gallery_id` no earlier than
// `not_before_unix_ms`; nullopt when none; IDEMPOTENCY_KEY_REUSED when the
// stored fingerprint differs from `request_hash`.
absl::StatusOr<std::optional<std::string>> FindReceiptRow(SQLite::Database& db,
                                                          int64_t gallery_id,
                                                          const std::string& key,
                                                          const std::string& request_hash,
                                                          int64_t not_before_unix_ms);

// Drops receipts older than `not_before_unix_ms` (all galleries), then
// stores `receipt` with the response made from `face_ids`.
// IDEMPOTENCY_KEY_REUSED when the key is taken.
absl::Status StoreReceiptRow(SQLite::Database& db, int64_t gallery_id,
                             const EnrollReceipt& receipt, const std::vector<int64_t>& face_ids,
                             int64_t now_unix_ms, int64_t not_before_unix_ms);

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_SQLITE_ENROLL_RECEIPTS_H_
