#include "core/gallery/sqlite_gallery_store.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <sqlite3.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/error_reason.h"
#include "core/gallery/face_id_list.h"
#include "core/gallery/sqlite_change_log.h"
#include "core/gallery/sqlite_enroll_receipts.h"
#include "core/gallery/sqlite_rows.h"
#include "core/gallery/sqlite_schema.h"
#include "core/gallery/store_errors.h"

namespace faceserve {
namespace {

int64_t NowUnixMs() { return absl::ToUnixMillis(absl::Now()); }

struct GalleryRow {
  int64_t id = 0;
  DescriptorModel model;
};

// The gallery's row id and model, or GALLERY_NOT_FOUND.
absl::StatusOr<GalleryRow> FindGallery(SQLite::Database& db, const std::string& name) {
  SQLite::Statement q(db, "SELECT id, descriptor_model, dimension FROM galleries WHERE name = ?");
  q.bind(1, name);
  if (!q.executeStep()) return GalleryNotFoundError(name);
  return GalleryRow{q.getColumn(0).getInt64(),
                    DescriptorModel{q.getColumn(1).getString(), q.getColumn(2).getInt()}};
}

// The subject's row id, or SUBJECT_NOT_FOUND.
absl::StatusOr<int64_t> FindSubject(SQLite::Database& db, int64_t gallery_id,
                                    const std::string& gallery, const std::string& subject) {
  SQLite::Statement q(db, "SELECT id FROM subjects WHERE gallery_id = ? AND name = ?");
  q.bind(1, gallery_id);
  q.bind(2, subject);
  if (!q.executeStep()) return SubjectNotFoundError(gallery, subject);
  return q.getColumn(0).getInt64();
}

// After a delete: moves the WAL into the file and empties it, so the deleted
// rows' old pages are gone from both.
void CheckpointAfterDelete(SQLite::Database& db) {
  db.execAndGet("PRAGMA wal_checkpoint(TRUNCATE)");
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteGalleryStore>> SqliteGalleryStore::Open(
    const std::string& path) {
  try {
    auto db = std::make_unique<SQLite::Database>(
        path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX);
    db->setBusyTimeout(5000);
    // Durable commits (fsync of the WAL on every commit), erasure that
    // overwrites, and the cascades of the schema's foreign keys.
    const std::string mode = db->execAndGet("PRAGMA journal_mode = WAL").getString();
    if (mode != "wal") {
      return WithReason(
          absl::FailedPreconditionError(
              absl::StrCat("gallery database ", path, ": journal mode is '", mode, "', not 'wal'")),
          ErrorReason::kStorageError);
    }
    db->exec("PRAGMA synchronous = FULL");
    db->exec("PRAGMA secure_delete = ON");
    db->exec("PRAGMA foreign_keys = ON");
    if (absl::Status s = MigrateSchema(*db); !s.ok()) {
      return WithReason(absl::Status(s.code(), absl::StrCat(path, ": ", s.message())),
                        ErrorReason::kStorageError);
    }
    return std::unique_ptr<SqliteGalleryStore>(new SqliteGalleryStore(std::move(db)));
  } catch (const SQLite::Exception& e) {
    return SqliteStorageError(absl::StrCat("cannot open the gallery database ", path), e);
  }
}

SqliteGalleryStore::SqliteGalleryStore(std::unique_ptr<SQLite::Database> db) : db_(std::move(db)) {}

SqliteGalleryStore::~SqliteGalleryStore() = default;

template <typename Result, typename Body>
Result SqliteGalleryStore::InGallery(const std::string& gallery, const std::string& what,
                                     Body body) {
  absl::MutexLock lock(&mu_);
  try {
    absl::StatusOr<GalleryRow> g = FindGallery(*db_, gallery);
    if (!g.ok()) return g.status();
    return body(*db_, *g);
  } catch (const SQLite::Exception& e) {
    return SqliteStorageError(what, e);
  }
}

absl::StatusOr<GalleryInfo> SqliteGalleryStore::CreateGallery(const std::string& name,
                                                              const DescriptorModel& model,
                                                              float threshold,
                                                              IndexKind index) {
  absl::MutexLock lock(&mu_);
  try {
    if (FindGallery(*db_, name).ok()) return GalleryExistsError(name);
    const int64_t now = NowUnixMs();
    SQLite::Statement q(*db_,
                        "INSERT INTO galleries (name, descriptor_model, dimension, threshold, "
                        "created_unix_ms, index_kind) VALUES (?, ?, ?, ?, ?, ?)");
    q.bind(1, name);
    q.bind(2, model.id);
    q.bind(3, model.dimension);
    q.bind(4, static_cast<double>(threshold));
    q.bind(5, now);
    q.bind(6, IndexKindName(index));
    q.exec();
    GalleryInfo info;
    info.name = name;
    info.model = model;
    info.threshold = threshold;
    info.index = index;
    info.created = absl::FromUnixMillis(now);
    return info;
  } catch (const SQLite::Exception& e) {
    return SqliteStorageError(absl::StrCat("creating gallery '", name, "'"), e);
  }
}

absl::Status SqliteGalleryStore::DeleteGallery(const std::string& name) {
  absl::MutexLock lock(&mu_);
  try {
    SQLite::Statement q(*db_, "DELETE FROM galleries WHERE name = ?");
    q.bind(1, name);
    if (q.exec() == 0) return GalleryNotFoundError(name);
    CheckpointAfterDelete(*db_);
    return absl::OkStatus();
  } catch (const SQLite::Exception& e) {
    return SqliteStorageError(absl::StrCat("deleting gallery '", name, "'"), e);
  }
}

namespace {

constexpr char kGalleryInfoSql[] =
    "SELECT g.name, g.descriptor_model, g.dimension, g.threshold, g.created_unix_ms, "
    "(SELECT count(*) FROM subjects s WHERE s.gallery_id = g.id), "
    "(SELECT count(*) FROM faces f JOIN subjects s ON f.subject_id = s.id "
    "WHERE s.gallery_id = g.id), g.index_kind FROM galleries g";

GalleryInfo GalleryInfoFrom(SQLite::Statement& q) {
  GalleryInfo info;
  info.name = q.getColumn(0).getString();
  info.model = DescriptorModel{q.getColumn(1).getString(), q.getColumn(2).getInt()};
  info.threshold = static_cast<float>(q.getColumn(3).getDouble());
  info.created = absl::FromUnixMillis(q.getColumn(4).getInt64());
  info.subjects = q.getColumn(5).getInt64();
  info.faces = q.getColumn(6).getInt64();
  info.index = IndexKindFromName(q.getColumn(7).getString());
  return info;
}

}  // namespace

absl::StatusOr<std::vector<GalleryInfo>> SqliteGalleryStore::ListGalleries() {
  absl::MutexLock lock(&mu_);
  try {
    SQLite::Statement q(*db_, absl::StrCat(kGalleryInfoSql, " ORDER BY g.name"));
    std::vector<GalleryInfo> galleries;
    while (q.executeStep()) galleries.push_back(GalleryInfoFrom(q));
    return galleries;
  } catch (const SQLite::Exception& e) {
    return SqliteStorageError("listing galleries", e);
  }
}

absl::StatusOr<GalleryInfo> SqliteGalleryStore::GetGallery(const std::string& name) {
  absl::MutexLock lock(&mu_);
  try {
    SQLite::Statement q(*db_, absl::StrCat(kGalleryInfoSql, " WHERE g.name = ?"));
    q.bind(1, name);
    if (!q.executeStep()) return GalleryNotFoundError(name);
    return GalleryInfoFrom(q);
  } catch (const SQLite::Exception& e) {
    return SqliteStorageError(absl::StrCat("reading gallery '", name, "'"), e);
  }
}

absl::StatusOr<std::vector<int64_t>> SqliteGalleryStore::AddFaces(
    const std::string& gallery, const std::string& subject, const Metadata& metadata,
    const DescriptorModel& model, const std::vector<std::vector<float>>& embeddings,
    const EnrollReceipt* receipt) {
  using Result = absl::StatusOr<std::vector<int64_t>>;
  return InGallery<Result>(
      gallery, absl::StrCat("enrolling into gallery '", gallery, "'"),
      [&](SQLite::Database& db, const GalleryRow& g) -> Result {
        if (absl::Status s = CheckEnrollable(gallery, g.model, model, embeddings); !s.ok()) {
          return s;
        }
        const int64_t now = NowUnixMs();
        SQLite::Transaction transaction(db);
        SQLite::Statement upsert(db,
                                 "INSERT INTO subjects (gallery_id, name, metadata_json, "
                                 "created_unix_ms) VALUES (?, ?, ?, ?) ON CONFLICT (gallery_id, "
                                 "name) DO NOTHING");
        upsert.bind(1, g.id);
        upsert.bind(2, subject);
        upsert.bind(3, MetadataToJson(metadata));
        upsert.bind(4, now);
        const bool created = upsert.exec() > 0;
        absl::StatusOr<int64_t> subject_id = FindSubject(db, g.id, gallery, subject);
        if (!subject_id.ok()) return subject_id.status();
        if (!created && !metadata.empty()) {
          SQLite::Statement update(db, "UPDATE subjects SET metadata_json = ? WHERE id = ?");
          update.bind(1, MetadataToJson(metadata));
          update.bind(2, *subject_id);
          update.exec();
        }
        SQLite::Statement insert(db,
                                 "INSERT INTO faces (subject_id, descriptor_model, dimension, "
                                 "embedding, created_unix_ms) VALUES (?, ?, ?, ?, ?)");
        std::vector<int64_t> ids;
        for (const std::vector<float>& embedding : embeddings) {
          insert.bind(1, *subject_id);
          insert.bind(2, model.id);
          insert.bind(3, model.dimension);
          insert.bind(4, embedding.data(), static_cast<int>(embedding.size() * sizeof(float)));
          insert.bind(5, now);
          insert.exec();
          insert.reset();
          ids.push_back(db.getLastInsertRowid());
          LogFaceAdded(db, g.id, ids.back());
        }
        if (receipt != nullptr) {
          absl::Status stored = StoreReceiptRow(db, g.id, *receipt, ids, now,
                                                now - absl::ToInt64Milliseconds(kReceiptLifetime));
          if (!stored.ok()) return stored;  // rolls the faces back too
        }
        transaction.commit();  // durable from here (WAL, synchronous=FULL)
        return ids;
      });
}

absl::StatusOr<std::optional<std::string>> SqliteGalleryStore::FindReceipt(
    const std::string& gallery, const std::string& key, const std::string& request_hash) {
  using Result = absl::StatusOr<std::optional<std::string>>;
  return InGallery<Result>(gallery, absl::StrCat("reading idempotency key '", key, "'"),
                           [&](SQLite::Database& db, const GalleryRow& g) -> Result {
                             return FindReceiptRow(
                                 db, g.id, key, request_hash,
                                 NowUnixMs() - absl::ToInt64Milliseconds(kReceiptLifetime));
                           });
}

absl::StatusOr<SubjectInfo> SqliteGalleryStore::GetSubject(const std::string& gallery,
                                                           const std::string& subject,
                                                           bool with_embeddings) {
  using Result = absl::StatusOr<SubjectInfo>;
  return InGallery<Result>(
      gallery, absl::StrCat("reading subject '", subject, "'"),
      [&](SQLite::Database& db, const GalleryRow& g) -> Result {
        SQLite::Statement q(db,
                            "SELECT id, metadata_json, created_unix_ms FROM subjects "
                            "WHERE gallery_id = ? AND name = ?");
        q.bind(1, g.id);
        q.bind(2, subject);
        if (!q.executeStep()) return FindSubject(db, g.id, gallery, subject).status();
        SubjectInfo info;
        info.subject = subject;
        const int64_t subject_id = q.getColumn(0).getInt64();
        info.metadata = MetadataFromJson(q.getColumn(1).getString());
        info.created = absl::FromUnixMillis(q.getColumn(2).getInt64());
        SQLite::Statement faces(db,
                                "SELECT id, created_unix_ms, embedding FROM faces "
                                "WHERE subject_id = ? ORDER BY id");
        faces.bind(1, subject_id);
        while (faces.executeStep()) {
          info.face_ids.push_back(faces.getColumn(0).getInt64());
          info.face_created.push_back(absl::FromUnixMillis(faces.getColumn(1).getInt64()));
          if (with_embeddings) info.embeddings.push_back(EmbeddingFromBlob(faces.getColumn(2)));
        }
        return info;
      });
}

absl::StatusOr<SubjectPage> SqliteGalleryStore::ListSubjects(const std::string& gallery,
                                                             const std::string& page_token,
                                                             int page_size) {
  if (page_size <= 0) {
    return WithReason(absl::InvalidArgumentError("page_size must be positive"),
                      ErrorReason::kInvalidField, {{"field", "page_size"}});
  }
  using Result = absl::StatusOr<SubjectPage>;
  return InGallery<Result>(
      gallery, absl::StrCat("listing subjects of '", gallery, "'"),
      [&](SQLite::Database& db, const GalleryRow& g) -> Result {
        // One more than asked: whether another page follows.
        SQLite::Statement q(db,
                            "SELECT s.name, s.metadata_json, s.created_unix_ms, "
                            "(SELECT group_concat(f.id) FROM faces f WHERE f.subject_id = s.id) "
                            "FROM subjects s WHERE s.gallery_id = ? AND s.name > ? "
                            "ORDER BY s.name LIMIT ?");
        q.bind(1, g.id);
        q.bind(2, page_token);
        q.bind(3, page_size + 1);
        SubjectPage page;
        while (q.executeStep()) {
          if (static_cast<int>(page.subjects.size()) == page_size) {
            page.next_page_token = page.subjects.back().subject;
            break;
          }
          SubjectInfo info;
          info.subject = q.getColumn(0).getString();
          info.metadata = MetadataFromJson(q.getColumn(1).getString());
          info.created = absl::FromUnixMillis(q.getColumn(2).getInt64());
          if (!q.getColumn(3).isNull()) info.face_ids = FaceIdsFromList(q.getColumn(3).getString());
          page.subjects.push_back(std::move(info));
        }
        return page;
      });
}

absl::Status SqliteGalleryStore::UpdateMetadata(const std::string& gallery,
                                                const std::string& subject,
                                                const Metadata& metadata) {
  return InGallery<absl::Status>(
      gallery, absl::StrCat("updating subject '", subject, "'"),
      [&](SQLite::Database& db, const GalleryRow& g) -> absl::Status {
        absl::StatusOr<int64_t> subject_id = FindSubject(db, g.id, gallery, subject);
        if (!subject_id.ok()) return subject_id.status();
        SQLite::Statement q(db, "UPDATE subjects SET metadata_json = ? WHERE id = ?");
        q.bind(1, MetadataToJson(metadata));
        q.bind(2, *subject_id);
        q.exec();
        return absl::OkStatus();
      });
}

absl::Status SqliteGalleryStore::DeleteFace(const std::string& gallery, int64_t face_id) {
  return InGallery<absl::Status>(
      gallery, absl::StrCat("deleting face ", face_id),
      [&](SQLite::Database& db, const GalleryRow& g) -> absl::Status {
        SQLite::Transaction transaction(db);
        SQLite::Statement q(db,
                            "DELETE FROM faces WHERE id = ? AND subject_id IN "
                            "(SELECT id FROM subjects WHERE gallery_id = ?)");
        q.bind(1, face_id);
        q.bind(2, g.id);
        if (q.exec() == 0) return FaceNotFoundError(gallery, face_id);
        LogFaceDeleted(db, g.id, face_id);
        transaction.commit();
        CheckpointAfterDelete(db);
        return absl::OkStatus();
      });
}

absl::Status SqliteGalleryStore::DeleteSubject(const std::string& gallery,
                                               const std::string& subject) {
  return InGallery<absl::Status>(
      gallery, absl::StrCat("deleting subject '", subject, "'"),
      [&](SQLite::Database& db, const GalleryRow& g) -> absl::Status {
        absl::StatusOr<int64_t> subject_id = FindSubject(db, g.id, gallery, subject);
        if (!subject_id.ok()) return subject_id.status();
        SQLite::Transaction transaction(db);
        LogSubjectDeleted(db, g.id, *subject_id);
        SQLite::Statement q(db, "DELETE FROM subjects WHERE id = ?");  // faces cascade
        q.bind(1, *subject_id);
        q.exec();
        transaction.commit();
        CheckpointAfterDelete(db);
        return absl::OkStatus();
      });
}

absl::StatusOr<std::vector<StoredFace>> SqliteGalleryStore::LoadFaces(const std::string& gallery) {
  using Result = absl::StatusOr<std::vector<StoredFace>>;
  return InGallery<Result>(
      gallery, absl::StrCat("loading gallery '", gallery, "'"),
      [&](SQLite::Database& db, const GalleryRow& g) -> Result {
        SQLite::Statement q(db,
                            "SELECT f.id, s.name, f.embedding, f.created_unix_ms FROM faces f "
                            "JOIN subjects s ON f.subject_id = s.id WHERE s.gallery_id = ? "
                            "ORDER BY f.id");
        q.bind(1, g.id);
        std::vector<StoredFace> faces;
        while (q.executeStep()) {
          faces.push_back(StoredFace{q.getColumn(0).getInt64(), q.getColumn(1).getString(),
                                     EmbeddingFromBlob(q.getColumn(2)),
                                     absl::FromUnixMillis(q.getColumn(3).getInt64())});
        }
        return faces;
      });
}

absl::StatusOr<int64_t> SqliteGalleryStore::LastChange() {
  absl::MutexLock lock(&mu_);
  try {
    return LastChangeRow(*db_);
  } catch (const SQLite::Exception& e) {
    return SqliteStorageError("reading the change log", e);
  }
}

absl::StatusOr<std::vector<FaceChange>> SqliteGalleryStore::ChangesSince(
    const std::string& gallery, int64_t after) {
  using Result = absl::StatusOr<std::vector<FaceChange>>;
  return InGallery<Result>(gallery, absl::StrCat("reading gallery '", gallery, "''s changes"),
                           [&](SQLite::Database& db, const GalleryRow& g) -> Result {
                             return ChangeRowsSince(db, g.id, after);
                           });
}

absl::Status SqliteGalleryStore::ForgetChanges(const std::string& gallery, int64_t up_to) {
  return InGallery<absl::Status>(gallery,
                                 absl::StrCat("compacting gallery '", gallery, "''s changes"),
                                 [&](SQLite::Database& db, const GalleryRow& g) -> absl::Status {
                                   ForgetChangeRows(db, g.id, up_to);
                                   return absl::OkStatus();
                                 });
}

absl::StatusOr<std::vector<std::pair<int64_t, std::string>>> SqliteGalleryStore::FaceSubjects(
    const std::string& gallery) {
  using Result = absl::StatusOr<std::vector<std::pair<int64_t, std::string>>>;
  return InGallery<Result>(gallery, absl::StrCat("reading gallery '", gallery, "''s subjects"),
                           [&](SQLite::Database& db, const GalleryRow& g) -> Result {
                             return FaceSubjectRows(db, g.id);
                           });
}

absl::StatusOr<std::string> SqliteGalleryStore::ReadPragma(const std::string& name) {
  absl::MutexLock lock(&mu_);
  try {
    return db_->execAndGet(absl::StrCat("PRAGMA ", name)).getString();
  } catch (const SQLite::Exception& e) {
    return SqliteStorageError(absl::StrCat("PRAGMA ", name), e);
  }
}

}  // namespace faceserve
