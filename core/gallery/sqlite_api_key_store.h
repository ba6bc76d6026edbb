// SqliteApiKeyStore: the API keys made through the API (issue 29), in the
// gallery database's file, table api_keys (schema version 4): digests only.
// Its own connection to the file, with the gallery store's durability
// (WAL, synchronous=FULL, secure_delete: a revoked key's digest is
// overwritten on disk).
//
// Thread-safety: one connection, used under a mutex.
#ifndef FACESERVE_CORE_GALLERY_SQLITE_API_KEY_STORE_H_
#define FACESERVE_CORE_GALLERY_SQLITE_API_KEY_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/auth/api_key_store.h"

namespace SQLite {
class Database;
}  // namespace SQLite

namespace faceserve {

class SqliteApiKeyStore final : public ApiKeyStore {
 public:
  // Opens the gallery database at `path` (created and migrated when needed).
  static absl::StatusOr<std::unique_ptr<SqliteApiKeyStore>> Open(const std::string& path);
  ~SqliteApiKeyStore() override;

  absl::StatusOr<std::vector<ApiKeyRecord>> ListApiKeys() override;
  absl::Status AddApiKey(const ApiKeyRecord& key) override;
  absl::Status RemoveApiKey(const std::string& id) override;

 private:
  explicit SqliteApiKeyStore(std::unique_ptr<SQLite::Database> db);

  absl::Mutex mu_;
  std::unique_ptr<SQLite::Database> db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_SQLITE_API_KEY_STORE_H_
