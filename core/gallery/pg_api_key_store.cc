#include "core/gallery/pg_api_key_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/error_reason.h"
#include "core/gallery/pg_schema.h"

namespace faceserve {

absl::StatusOr<std::unique_ptr<PgApiKeyStore>> PgApiKeyStore::Open(const std::string& dsn) {
  absl::StatusOr<std::unique_ptr<PgConnection>> db = PgConnection::Connect(dsn);
  if (!db.ok()) return db.status();
  if (absl::Status s = MigratePgSchema(db->get()); !s.ok()) return s;
  return std::unique_ptr<PgApiKeyStore>(new PgApiKeyStore(*std::move(db)));
}

absl::StatusOr<std::vector<ApiKeyRecord>> PgApiKeyStore::ListApiKeys() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<PgResult> r =
      db_->Exec("SELECT id, name, sha256, scopes, galleries, created_unix_ms::int8 "
                "FROM api_keys ORDER BY created_unix_ms, id");
  if (!r.ok()) return r.status();
  std::vector<ApiKeyRecord> keys;
  for (int row = 0; row < r->rows(); ++row) {
    ApiKeyRecord key;
    key.id = r->Text(row, 0);
    key.name = r->Text(row, 1);
    key.sha256_hex = r->Text(row, 2);
    key.scopes = ScopesFromColumn(r->Bytes(row, 3));
    key.galleries = GalleriesFromColumn(r->Bytes(row, 4));
    key.created_unix_ms = r->Int(row, 5);
    key.source = ApiKeyRecord::Source::kStore;
    keys.push_back(std::move(key));
  }
  return keys;
}

absl::Status PgApiKeyStore::AddApiKey(const ApiKeyRecord& key) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<PgResult> r = db_->Exec(
      "INSERT INTO api_keys (id, name, sha256, scopes, galleries, created_unix_ms) "
      "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
      {PgParam::Text(key.id), PgParam::Text(key.name), PgParam::Text(key.sha256_hex),
       PgParam::Text(ScopesColumn(key.scopes)), PgParam::Text(GalleriesColumn(key.galleries)),
       PgParam::Int(key.created_unix_ms)});
  if (!r.ok()) return r.status();
  if (r->affected() == 0) return absl::AlreadyExistsError(absl::StrCat("API key ", key.id, " exists"));
  return absl::OkStatus();
}

absl::Status PgApiKeyStore::RemoveApiKey(const std::string& id) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<PgResult> r =
      db_->Exec("DELETE FROM api_keys WHERE id = $1", {PgParam::Text(id)});
  if (!r.ok()) return r.status();
  if (r->affected() == 0) {
    return WithReason(absl::NotFoundError(absl::StrCat("no API key ", id)),
                      ErrorReason::kApiKeyNotFound);
  }
  return absl::OkStatus();
}

}  // namespace faceserve
