#include "core/gallery/sqlite_api_key_store.h"
#include "core/gallery/sqlite_rows.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/error_reason.h"
#include "core/gallery/sqlite_schema.h"

namespace faceserve {

absl::StatusOr<std::unique_ptr<SqliteApiKeyStore>> SqliteApiKeyStore::Open(
    const std::string& path) {
  try {
    auto db = std::make_unique<SQLite::Database>(
        path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX);
    db->setBusyTimeout(5000);
    db->execAndGet("PRAGMA journal_mode = WAL");
    db->exec("PRAGMA synchronous = FULL");
    db->exec("PRAGMA secure_delete = ON");
    if (absl::Status s = MigrateSchema(*db); !s.ok()) {
      return WithReason(absl::Status(s.code(), absl::StrCat(path, ": ", s.message())),
                        ErrorReason::kStorageError);
    }
    return std::unique_ptr<SqliteApiKeyStore>(new SqliteApiKeyStore(std::move(db)));
  } catch (const SQLite::Exception& e) {
    return SqliteStorageError(absl::StrCat("cannot open the API key store ", path), e);
  }
}

SqliteApiKeyStore::SqliteApiKeyStore(std::unique_ptr<SQLite::Database> db) : db_(std::move(db)) {}

SqliteApiKeyStore::~SqliteApiKeyStore() = default;

absl::StatusOr<std::vector<ApiKeyRecord>> SqliteApiKeyStore::ListApiKeys() {
  absl::MutexLock lock(&mu_);
  try {
    SQLite::Statement q(*db_,
                        "SELECT id, name, sha256, scopes, galleries, created_unix_ms FROM api_keys "
                        "ORDER BY created_unix_ms, id");
    std::vector<ApiKeyRecord> keys;
    while (q.executeStep()) {
      ApiKeyRecord key;
      key.id = q.getColumn(0).getString();
      key.name = q.getColumn(1).getString();
      key.sha256_hex = q.getColumn(2).getString();
      key.scopes = ScopesFromColumn(q.getColumn(3).getString());
      key.galleries = GalleriesFromColumn(q.getColumn(4).getString());
      key.created_unix_ms = q.getColumn(5).getInt64();
      key.source = ApiKeyRecord::Source::kStore;
      keys.push_back(std::move(key));
    }
    return keys;
  } catch (const SQLite::Exception& e) {
    return SqliteStorageError("cannot read the API keys", e);
  }
}

absl::Status SqliteApiKeyStore::AddApiKey(const ApiKeyRecord& key) {
  absl::MutexLock lock(&mu_);
  try {
    SQLite::Statement q(*db_,
                        "INSERT INTO api_keys (id, name, sha256, scopes, galleries, "
                        "created_unix_ms) VALUES (?, ?, ?, ?, ?, ?)");
    q.bind(1, key.id);
    q.bind(2, key.name);
    q.bind(3, key.sha256_hex);
    q.bind(4, ScopesColumn(key.scopes));
    q.bind(5, GalleriesColumn(key.galleries));
    q.bind(6, static_cast<int64_t>(key.created_unix_ms));
    q.exec();
    return absl::OkStatus();
  } catch (const SQLite::Exception& e) {
    if (e.getExtendedErrorCode() == SQLITE_CONSTRAINT_PRIMARYKEY) {
      return absl::AlreadyExistsError(absl::StrCat("API key ", key.id, " exists"));
    }
    return SqliteStorageError("cannot store the API key", e);
  }
}

absl::Status SqliteApiKeyStore::RemoveApiKey(const std::string& id) {
  absl::MutexLock lock(&mu_);
  try {
    SQLite::Statement q(*db_, "DELETE FROM api_keys WHERE id = ?");
    q.bind(1, id);
    if (q.exec() == 0) {
      return WithReason(absl::NotFoundError(absl::StrCat("no API key ", id)),
                        ErrorReason::kApiKeyNotFound);
    }
    // The old page (the digest) out of the WAL too, as after a face's delete.
    db_->execAndGet("PRAGMA wal_checkpoint(TRUNCATE)");
    return absl::OkStatus();
  } catch (const SQLite::Exception& e) {
    return SqliteStorageError("cannot revoke the API key", e);
  }
}

}  // namespace faceserve
