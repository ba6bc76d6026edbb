#include "core/gallery/sqlite_schema.h"

#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <iterator>

#include "absl/strings/str_cat.h"

namespace faceserve {
namespace {

// Migration i + 1 is kMigrations[i]. Append only: never edit a published one.
constexpr const char* kMigrations[] = {
    // 1: galleries, subjects, faces. Embeddings are float32 little-endian;
    // each face keeps its model's id and dimension, so that a face can never
    // be compared with one of another descriptor. Deleting a gallery or a
    // subject deletes what it owns (foreign keys, ON DELETE CASCADE).
    R"sql(
      CREATE TABLE galleries (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        descriptor_model TEXT NOT NULL,
        dimension INTEGER NOT NULL CHECK (dimension > 0),
        threshold REAL NOT NULL,
        created_unix_ms INTEGER NOT NULL
      );
      CREATE TABLE subjects (
        id INTEGER PRIMARY KEY,
        gallery_id INTEGER NOT NULL REFERENCES galleries (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        metadata_json TEXT NOT NULL DEFAULT '{}',
        created_unix_ms INTEGER NOT NULL,
        UNIQUE (gallery_id, name)
      );
      CREATE TABLE faces (
        id INTEGER PRIMARY KEY,
        subject_id INTEGER NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
        descriptor_model TEXT NOT NULL,
        dimension INTEGER NOT NULL,
        embedding BLOB NOT NULL CHECK (length(embedding) = 4 * dimension),
        created_unix_ms INTEGER NOT NULL
      );
      CREATE INDEX faces_by_subject ON faces (subject_id);
    )sql",
    // 2: Enroll's idempotency keys, each with the request's fingerprint and
    // the response it got (sqlite_enroll_receipts.h).
    R"sql(
      CREATE TABLE enroll_receipts (
        gallery_id INTEGER NOT NULL REFERENCES galleries (id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        response BLOB NOT NULL,
        created_unix_ms INTEGER NOT NULL,
        PRIMARY KEY (gallery_id, key)
      );
      CREATE INDEX enroll_receipts_by_time ON enroll_receipts (created_unix_ms);
    )sql",
    // 3: how each gallery is searched (issue 28), and the change log that
    // brings an index snapshot up to date (sqlite_change_log.h).
    // AUTOINCREMENT: a change's number is never reused, so numbers grow in
    // commit order (SQLite commits one writer at a time).
    R"sql(
      ALTER TABLE galleries ADD COLUMN index_kind TEXT NOT NULL DEFAULT 'auto'
        CHECK (index_kind IN ('auto', 'exact', 'approximate'));
      CREATE TABLE face_changes (
        change INTEGER PRIMARY KEY AUTOINCREMENT,
        gallery_id INTEGER NOT NULL REFERENCES galleries (id) ON DELETE CASCADE,
        face_id INTEGER NOT NULL,
        added INTEGER NOT NULL CHECK (added IN (0, 1))
      );
      CREATE INDEX face_changes_by_gallery ON face_changes (gallery_id, change);
    )sql",
    // 4: API keys made through the API (issue 29; core/auth): SHA-256
    // digests, never keys. scopes: names joined by ','; galleries: names
    // (or "*") joined by a newline.
    R"sql(
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY CHECK (length(id) = 16),
        name TEXT NOT NULL,
        sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
        scopes TEXT NOT NULL,
        galleries TEXT NOT NULL,
        created_unix_ms INTEGER NOT NULL
      );
    )sql",
};

}  // namespace

int CurrentSchemaVersion() { return static_cast<int>(std::size(kMigrations)); }

absl::Status MigrateSchema(SQLite::Database& db) {
  // PRAGMA user_version: SQLite's own slot for the schema version (0 in a
  // new database).
  int version = db.execAndGet("PRAGMA user_version").getInt();
  if (version > CurrentSchemaVersion()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "gallery database schema version ", version, " is newer than this faceserve's (",
        CurrentSchemaVersion(), "): upgrade faceserve"));
  }
  while (version < CurrentSchemaVersion()) {
    // IMMEDIATE: the write lock first, then the version read again, so that
    // two processes opening a new file at once migrate it once, in turn.
    SQLite::Transaction transaction(db, SQLite::TransactionBehavior::IMMEDIATE);
    version = db.execAndGet("PRAGMA user_version").getInt();
    if (version >= CurrentSchemaVersion()) break;
    db.exec(kMigrations[version]);
    db.exec(absl::StrCat("PRAGMA user_version = ", version + 1));
    transaction.commit();
    ++version;
  }
  return absl::OkStatus();
}

}  // namespace faceserve
