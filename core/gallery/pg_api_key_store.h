// PgApiKeyStore: the API keys made through the API (issue 29) in the
// PostgreSQL gallery database (issue 33), table api_keys: digests only, so
// that a key made or revoked through one replica holds on every replica
// (AccessControl re-reads the store every auth.store_poll_ms).
//
// Thread-safety: one connection, used under a mutex.
#ifndef FACESERVE_CORE_GALLERY_PG_API_KEY_STORE_H_
#define FACESERVE_CORE_GALLERY_PG_API_KEY_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/auth/api_key_store.h"
#include "core/gallery/pg_connection.h"

namespace faceserve {

class PgApiKeyStore final : public ApiKeyStore {
 public:
  // Connects with `dsn` and migrates the schema (as PgGalleryStore::Open).
  static absl::StatusOr<std::unique_ptr<PgApiKeyStore>> Open(const std::string& dsn);

  absl::StatusOr<std::vector<ApiKeyRecord>> ListApiKeys() override;
  absl::Status AddApiKey(const ApiKeyRecord& key) override;
  absl::Status RemoveApiKey(const std::string& id) override;

 private:
  explicit PgApiKeyStore(std::unique_ptr<PgConnection> db) : db_(std::move(db)) {}

  absl::Mutex mu_;
  std::unique_ptr<PgConnection> db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_PG_API_KEY_STORE_H_
