#include "core/gallery/pg_schema.h"

#include <iterator>

#include "absl/strings/str_cat.h"
#include "core/error_reason.h"

namespace faceserve {
namespace {

// The advisory lock migrations hold (any 64-bit number the database's other
// users do not take: "faceserv" in ASCII).
constexpr int64_t kMigrationLock = 0x6661636573657276;

// Migration i + 1 is kMigrations[i]. Append only, and each one only adds:
// never edit a published one, never drop or rename in the same release as
// the code that stops using it.
constexpr const char* kMigrations[] = {
    // 1: as the SQLite store's versions 1-4 (sqlite_schema.cc): galleries,
    // subjects, faces (float32 little-endian embeddings that keep their
    // model's id and dimension), Enroll's idempotency receipts, the change
    // log, API keys. The change log's numbers come from one counter row that
    // every writer updates inside its transaction: the row lock orders the
    // writers, so the numbers grow in commit order (a sequence is taken at
    // insert, and transactions commit in another order: a replica catching
    // up from the last number it saw would skip a late commit).
    R"sql(
      CREATE TABLE galleries (
        id bigserial PRIMARY KEY,
        name text NOT NULL UNIQUE,
        descriptor_model text NOT NULL,
        dimension integer NOT NULL CHECK (dimension > 0),
        threshold double precision NOT NULL,
        index_kind text NOT NULL DEFAULT 'auto'
          CHECK (index_kind IN ('auto', 'exact', 'approximate')),
        created_unix_ms bigint NOT NULL
      );
      CREATE TABLE subjects (
        id bigserial PRIMARY KEY,
        gallery_id bigint NOT NULL REFERENCES galleries (id) ON DELETE CASCADE,
        name text NOT NULL,
        metadata_json text NOT NULL DEFAULT '{}',
        created_unix_ms bigint NOT NULL,
        UNIQUE (gallery_id, name)
      );
      CREATE TABLE faces (
        id bigserial PRIMARY KEY,
        subject_id bigint NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
        descriptor_model text NOT NULL,
        dimension integer NOT NULL,
        embedding bytea NOT NULL CHECK (length(embedding) = 4 * dimension),
        created_unix_ms bigint NOT NULL
      );
      CREATE INDEX faces_by_subject ON faces (subject_id, id);
      CREATE TABLE enroll_receipts (
        gallery_id bigint NOT NULL REFERENCES galleries (id) ON DELETE CASCADE,
        key text NOT NULL,
        request_hash text NOT NULL,
        response bytea NOT NULL,
        created_unix_ms bigint NOT NULL,
        PRIMARY KEY (gallery_id, key)
      );
      CREATE INDEX enroll_receipts_by_time ON enroll_receipts (created_unix_ms);
      CREATE TABLE change_counter (
        id integer PRIMARY KEY CHECK (id = 1),
        last bigint NOT NULL
      );
      INSERT INTO change_counter VALUES (1, 0);
      CREATE TABLE face_changes (
        change bigint PRIMARY KEY,
        gallery_id bigint NOT NULL REFERENCES galleries (id) ON DELETE CASCADE,
        face_id bigint NOT NULL,
        added boolean NOT NULL
      );
      CREATE INDEX face_changes_by_gallery ON face_changes (gallery_id, change);
      CREATE TABLE api_keys (
        id text PRIMARY KEY CHECK (length(id) = 16),
        name text NOT NULL,
        sha256 text NOT NULL CHECK (length(sha256) = 64),
        scopes text NOT NULL,
        galleries text NOT NULL,
        created_unix_ms bigint NOT NULL
      );
    )sql",
    // 2: what replicas following the log need (issue 33): galleries created
    // and deleted, numbered from the same counter as faces' changes (a
    // deleted gallery's name stays, so no reference to its row); when each
    // change was logged, so the log is compacted by age; and the newest
    // change compacted away, below which a replica cannot catch up.
    R"sql(
      CREATE TABLE gallery_changes (
        change bigint PRIMARY KEY,
        gallery_name text NOT NULL,
        created boolean NOT NULL,
        logged_unix_ms bigint NOT NULL
          DEFAULT (extract(epoch FROM clock_timestamp()) * 1000)::bigint
      );
      ALTER TABLE face_changes ADD COLUMN logged_unix_ms bigint NOT NULL
        DEFAULT (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
      CREATE INDEX face_changes_by_time ON face_changes (logged_unix_ms);
      CREATE TABLE change_log_horizon (
        id integer PRIMARY KEY CHECK (id = 1),
        compacted_up_to bigint NOT NULL
      );
      INSERT INTO change_log_horizon VALUES (1, 0);
    )sql",
};

absl::Status TooOld(int needed) {
  return WithReason(
      absl::FailedPreconditionError(absl::StrCat(
          "the gallery database needs faceserve of schema version ", needed,
          " or newer to run on it (this one is ", CurrentPgSchemaVersion(), "): upgrade faceserve")),
      ErrorReason::kStorageError);
}

// Under the advisory lock: the version row, then each missing migration in
// its own transaction.
absl::Status MigrateLocked(PgConnection* db) {
  // faceserve_schema: the version reached, and the oldest faceserve that
  // may still run on it (raised only by a contracting migration).
  if (absl::Status s = db->RunScript(
          "CREATE TABLE IF NOT EXISTS faceserve_schema ("
          "id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL, "
          "min_reader_version integer NOT NULL); "
          "INSERT INTO faceserve_schema VALUES (1, 0, 0) ON CONFLICT (id) DO NOTHING");
      !s.ok()) {
    return s;
  }
  absl::StatusOr<PgResult> row =
      db->Exec("SELECT version::int8, min_reader_version::int8 FROM faceserve_schema");
  if (!row.ok()) return row.status();
  int version = static_cast<int>(row->Int(0, 0));
  if (row->Int(0, 1) > CurrentPgSchemaVersion()) return TooOld(static_cast<int>(row->Int(0, 1)));
  while (version < CurrentPgSchemaVersion()) {
    absl::StatusOr<PgTransaction> t = PgTransaction::Begin(db);
    if (!t.ok()) return t.status();
    if (absl::Status s = db->RunScript(kMigrations[version]); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("migration ", version + 1, ": ", s.message()));
    }
    if (absl::Status s = db->Run("UPDATE faceserve_schema SET version = $1",
                                 {PgParam::Int(version + 1)});
        !s.ok()) {
      return s;
    }
    if (absl::Status s = t->Commit(); !s.ok()) return s;
    ++version;
  }
  return absl::OkStatus();
}

}  // namespace

int CurrentPgSchemaVersion() { return static_cast<int>(std::size(kMigrations)); }

absl::Status MigratePgSchema(PgConnection* db) {
  // A session lock: held across the migrations' own transactions, released
  // below or with the connection.
  if (absl::Status s = db->Run("SELECT pg_advisory_lock($1)", {PgParam::Int(kMigrationLock)});
      !s.ok()) {
    return s;
  }
  const absl::Status migrated = MigrateLocked(db);
  const absl::Status unlocked =
      db->Run("SELECT pg_advisory_unlock($1)", {PgParam::Int(kMigrationLock)});
  return migrated.ok() ? unlocked : migrated;
}

}  // namespace faceserve
