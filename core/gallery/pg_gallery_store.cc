#include "core/gallery/pg_gallery_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/error_reason.h"
#include "core/gallery/face_id_list.h"
#include "core/gallery/metadata_json.h"
#include "core/gallery/pg_change_log.h"
#include "core/gallery/pg_schema.h"
#include "core/gallery/store_errors.h"

namespace faceserve {
namespace {

int64_t NowUnixMs() { return absl::ToUnixMillis(absl::Now()); }

constexpr char kGalleryInfoSql[] =
    "SELECT g.name, g.descriptor_model, g.dimension::int8, g.threshold::float8, "
    "g.created_unix_ms::int8, "
    "(SELECT count(*) FROM subjects s WHERE s.gallery_id = g.id)::int8, "
    "(SELECT count(*) FROM faces f JOIN subjects s ON f.subject_id = s.id "
    "WHERE s.gallery_id = g.id)::int8, g.index_kind FROM galleries g";

GalleryInfo GalleryInfoFrom(const PgResult& r, int row) {
  GalleryInfo info;
  info.name = r.Text(row, 0);
  info.model = DescriptorModel{r.Text(row, 1), static_cast<int>(r.Int(row, 2))};
  info.threshold = static_cast<float>(r.Real(row, 3));
  info.created = absl::FromUnixMillis(r.Int(row, 4));
  info.subjects = r.Int(row, 5);
  info.faces = r.Int(row, 6);
  info.index = IndexKindFromName(r.Text(row, 7));
  return info;
}

// A failure with what was being done in front of its message.
absl::Status While(const std::string& what, const absl::Status& s) {
  if (s.ok()) return s;
  absl::Status out(s.code(), absl::StrCat(what, ": ", s.message()));
  s.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    out.SetPayload(url, payload);
  });
  return out;
}

struct GalleryRow {
  int64_t id = 0;
  DescriptorModel model;
};

// The gallery's row id and model, or GALLERY_NOT_FOUND.
absl::StatusOr<GalleryRow> FindGallery(PgConnection* db, const std::string& name) {
  absl::StatusOr<PgResult> r = db->Exec(
      "SELECT id::int8, descriptor_model, dimension::int8 FROM galleries WHERE name = $1",
      {PgParam::Text(name)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return GalleryNotFoundError(name);
  return GalleryRow{r->Int(0, 0), DescriptorModel{r->Text(0, 1), static_cast<int>(r->Int(0, 2))}};
}

// The subject's row id, or SUBJECT_NOT_FOUND.
absl::StatusOr<int64_t> FindSubject(PgConnection* db, const GalleryRow& g,
                                    const std::string& gallery, const std::string& subject) {
  absl::StatusOr<PgResult> r =
      db->Exec("SELECT id::int8 FROM subjects WHERE gallery_id = $1 AND name = $2",
               {PgParam::Int(g.id), PgParam::Text(subject)});
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return SubjectNotFoundError(gallery, subject);
  return r->Int(0, 0);
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgGalleryStore>> PgGalleryStore::Open(const std::string& dsn) {
  absl::StatusOr<std::unique_ptr<PgConnection>> db = PgConnection::Connect(dsn);
  if (!db.ok()) return db.status();
  if (absl::Status s = MigratePgSchema(db->get()); !s.ok()) {
    return While("migrating the gallery database", s);
  }
  return std::unique_ptr<PgGalleryStore>(new PgGalleryStore(dsn, *std::move(db)));
}

int PgGalleryStore::backend_pid() {
  absl::MutexLock lock(&mu_);
  return db_->backend_pid();
}

template <typename Result, typename Body>
Result PgGalleryStore::InGallery(const std::string& gallery, Body body) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<GalleryRow> g = FindGallery(db_.get(), gallery);
  if (!g.ok()) return g.status();
  return body(db_.get(), *g);
}

absl::StatusOr<GalleryInfo> PgGalleryStore::CreateGallery(const std::string& name,
                                                          const DescriptorModel& model,
                                                          float threshold, IndexKind index) {
  absl::MutexLock lock(&mu_);
  const std::string what = absl::StrCat("creating gallery '", name, "'");
  const int64_t now = NowUnixMs();
  absl::StatusOr<PgTransaction> t = PgTransaction::Begin(db_.get());
  if (!t.ok()) return While(what, t.status());
  absl::StatusOr<PgResult> r = db_->Exec(
      "INSERT INTO galleries (name, descriptor_model, dimension, threshold, created_unix_ms, "
      "index_kind) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
      {PgParam::Text(name), PgParam::Text(model.id), PgParam::Int(model.dimension),
       PgParam::Real(threshold), PgParam::Int(now), PgParam::Text(IndexKindName(index))});
  if (!r.ok()) return While(what, r.status());
  if (r->affected() == 0) return GalleryExistsError(name);
  if (absl::Status s = LogPgGalleryChange(db_.get(), name, /*created=*/true); !s.ok()) {
    return While(what, s);
  }
  if (absl::Status s = t->Commit(); !s.ok()) return While(what, s);
  GalleryInfo info;
  info.name = name;
  info.model = model;
  info.threshold = threshold;
  info.index = index;
  info.created = absl::FromUnixMillis(now);
  return info;
}

absl::Status PgGalleryStore::DeleteGallery(const std::string& name) {
  absl::MutexLock lock(&mu_);
  const std::string what = absl::StrCat("deleting gallery '", name, "'");
  absl::StatusOr<PgTransaction> t = PgTransaction::Begin(db_.get());
  if (!t.ok()) return While(what, t.status());
  absl::StatusOr<PgResult> r =
      db_->Exec("DELETE FROM galleries WHERE name = $1", {PgParam::Text(name)});
  if (!r.ok()) return While(what, r.status());
  if (r->affected() == 0) return GalleryNotFoundError(name);
  if (absl::Status s = LogPgGalleryChange(db_.get(), name, /*created=*/false); !s.ok()) {
    return While(what, s);
  }
  return While(what, t->Commit());
}

absl::StatusOr<std::vector<GalleryInfo>> PgGalleryStore::ListGalleries() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<PgResult> r = db_->Exec(absl::StrCat(kGalleryInfoSql, " ORDER BY g.name COLLATE \"C\""));
  if (!r.ok()) return While("listing galleries", r.status());
  std::vector<GalleryInfo> galleries;
  for (int i = 0; i < r->rows(); ++i) galleries.push_back(GalleryInfoFrom(*r, i));
  return galleries;
}

absl::StatusOr<GalleryInfo> PgGalleryStore::GetGallery(const std::string& name) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<PgResult> r =
      db_->Exec(absl::StrCat(kGalleryInfoSql, " WHERE g.name = $1"), {PgParam::Text(name)});
  if (!r.ok()) return While(absl::StrCat("reading gallery '", name, "'"), r.status());
  if (r->rows() == 0) return GalleryNotFoundError(name);
  return GalleryInfoFrom(*r, 0);
}

absl::StatusOr<std::vector<int64_t>> PgGalleryStore::AddFaces(
    const std::string& gallery, const std::string& subject, const Metadata& metadata,
    const DescriptorModel& model, const std::vector<std::vector<float>>& embeddings,
    const EnrollReceipt* receipt) {
  using Result = absl::StatusOr<std::vector<int64_t>>;
  return InGallery<Result>(gallery, [&](PgConnection* db, const GalleryRow& g) -> Result {
    if (absl::Status s = CheckEnrollable(gallery, g.model, model, embeddings); !s.ok()) return s;
    const std::string what = absl::StrCat("enrolling into gallery '", gallery, "'");
    const int64_t now = NowUnixMs();
    absl::StatusOr<PgTransaction> t = PgTransaction::Begin(db);
    if (!t.ok()) return While(what, t.status());
    absl::StatusOr<PgResult> created = db->Exec(
        "INSERT INTO subjects (gallery_id, name, metadata_json, created_unix_ms) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (gallery_id, name) DO NOTHING RETURNING id::int8",
        {PgParam::Int(g.id), PgParam::Text(subject), PgParam::Text(MetadataToJson(metadata)),
         PgParam::Int(now)});
    if (!created.ok()) return While(what, created.status());
    int64_t subject_id = 0;
    if (created->rows() == 1) {
      subject_id = created->Int(0, 0);
    } else {
      absl::StatusOr<int64_t> found = FindSubject(db, g, gallery, subject);
      if (!found.ok()) return found.status();
      subject_id = *found;
      if (!metadata.empty()) {
        if (absl::Status s = db->Run("UPDATE subjects SET metadata_json = $1 WHERE id = $2",
                                     {PgParam::Text(MetadataToJson(metadata)),
                                      PgParam::Int(subject_id)});
            !s.ok()) {
          return While(what, s);
        }
      }
    }
    std::vector<int64_t> ids;
    for (const std::vector<float>& embedding : embeddings) {
      absl::StatusOr<PgResult> face = db->Exec(
          "INSERT INTO faces (subject_id, descriptor_model, dimension, embedding, "
          "created_unix_ms) VALUES ($1, $2, $3, $4, $5) RETURNING id::int8",
          {PgParam::Int(subject_id), PgParam::Text(model.id), PgParam::Int(model.dimension),
           PgParam::Floats(embedding), PgParam::Int(now)});
      if (!face.ok()) return While(what, face.status());
      ids.push_back(face->Int(0, 0));
    }
    if (absl::Status s = LogPgFaceChanges(db, g.id, ids, /*added=*/true); !s.ok()) {
      return While(what, s);
    }
    if (receipt != nullptr) {
      const int64_t not_before = now - absl::ToInt64Milliseconds(kReceiptLifetime);
      if (absl::Status s = db->Run("DELETE FROM enroll_receipts WHERE created_unix_ms < $1",
                                   {PgParam::Int(not_before)});
          !s.ok()) {
        return While(what, s);
      }
      absl::StatusOr<PgResult> stored = db->Exec(
          "INSERT INTO enroll_receipts (gallery_id, key, request_hash, response, "
          "created_unix_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (gallery_id, key) DO NOTHING",
          {PgParam::Int(g.id), PgParam::Text(receipt->key), PgParam::Text(receipt->request_hash),
           PgParam::Bytes(receipt->make_response(ids)), PgParam::Int(now)});
      if (!stored.ok()) return While(what, stored.status());
      // A concurrent retry won: the faces roll back with the transaction.
      if (stored->affected() == 0) return IdempotencyKeyReusedError(receipt->key);
    }
    if (absl::Status s = t->Commit(); !s.ok()) return While(what, s);
    return ids;
  });
}

absl::StatusOr<std::optional<std::string>> PgGalleryStore::FindReceipt(
    const std::string& gallery, const std::string& key, const std::string& request_hash) {
  using Result = absl::StatusOr<std::optional<std::string>>;
  return InGallery<Result>(gallery, [&](PgConnection* db, const GalleryRow& g) -> Result {
    absl::StatusOr<PgResult> r = db->Exec(
        "SELECT request_hash, response FROM enroll_receipts "
        "WHERE gallery_id = $1 AND key = $2 AND created_unix_ms >= $3",
        {PgParam::Int(g.id), PgParam::Text(key),
         PgParam::Int(NowUnixMs() - absl::ToInt64Milliseconds(kReceiptLifetime))});
    if (!r.ok()) return While(absl::StrCat("reading idempotency key '", key, "'"), r.status());
    if (r->rows() == 0) return std::nullopt;
    if (r->Text(0, 0) != request_hash) return IdempotencyKeyReusedError(key);
    return r->Text(0, 1);
  });
}

absl::StatusOr<SubjectInfo> PgGalleryStore::GetSubject(const std::string& gallery,
                                                       const std::string& subject,
                                                       bool with_embeddings) {
  using Result = absl::StatusOr<SubjectInfo>;
  return InGallery<Result>(gallery, [&](PgConnection* db, const GalleryRow& g) -> Result {
    const std::string what = absl::StrCat("reading subject '", subject, "'");
    absl::StatusOr<PgResult> s = db->Exec(
        "SELECT id::int8, metadata_json, created_unix_ms::int8 FROM subjects "
        "WHERE gallery_id = $1 AND name = $2",
        {PgParam::Int(g.id), PgParam::Text(subject)});
    if (!s.ok()) return While(what, s.status());
    if (s->rows() == 0) return SubjectNotFoundError(gallery, subject);
    SubjectInfo info;
    info.subject = subject;
    info.metadata = MetadataFromJson(s->Text(0, 1));
    info.created = absl::FromUnixMillis(s->Int(0, 2));
    absl::StatusOr<PgResult> faces = db->Exec(
        with_embeddings ? "SELECT id::int8, created_unix_ms::int8, embedding FROM faces "
                          "WHERE subject_id = $1 ORDER BY id"
                        : "SELECT id::int8, created_unix_ms::int8 FROM faces "
                          "WHERE subject_id = $1 ORDER BY id",
        {PgParam::Int(s->Int(0, 0))});
    if (!faces.ok()) return While(what, faces.status());
    for (int r = 0; r < faces->rows(); ++r) {
      info.face_ids.push_back(faces->Int(r, 0));
      info.face_created.push_back(absl::FromUnixMillis(faces->Int(r, 1)));
      if (with_embeddings) info.embeddings.push_back(faces->Floats(r, 2));
    }
    return info;
  });
}

absl::StatusOr<SubjectPage> PgGalleryStore::ListSubjects(const std::string& gallery,
                                                         const std::string& page_token,
                                                         int page_size) {
  if (page_size <= 0) {
    return WithReason(absl::InvalidArgumentError("page_size must be positive"),
                      ErrorReason::kInvalidField, {{"field", "page_size"}});
  }
  using Result = absl::StatusOr<SubjectPage>;
  return InGallery<Result>(gallery, [&](PgConnection* db, const GalleryRow& g) -> Result {
    // Byte order (COLLATE "C"), as SQLite's; one more than asked: whether
    // another page follows.
    absl::StatusOr<PgResult> r = db->Exec(
        "SELECT s.name, s.metadata_json, s.created_unix_ms::int8, "
        "(SELECT string_agg(f.id::text, ',') FROM faces f WHERE f.subject_id = s.id) "
        "FROM subjects s WHERE s.gallery_id = $1 AND s.name COLLATE \"C\" > $2 "
        "ORDER BY s.name COLLATE \"C\" LIMIT $3",
        {PgParam::Int(g.id), PgParam::Text(page_token), PgParam::Int(page_size + 1)});
    if (!r.ok()) return While(absl::StrCat("listing subjects of '", gallery, "'"), r.status());
    SubjectPage page;
    for (int row = 0; row < r->rows(); ++row) {
      if (static_cast<int>(page.subjects.size()) == page_size) {
        page.next_page_token = page.subjects.back().subject;
        break;
      }
      SubjectInfo info;
      info.subject = r->Text(row, 0);
      info.metadata = MetadataFromJson(r->Text(row, 1));
      info.created = absl::FromUnixMillis(r->Int(row, 2));
      if (!r->IsNull(row, 3)) info.face_ids = FaceIdsFromList(r->Bytes(row, 3));
      page.subjects.push_back(std::move(info));
    }
    return page;
  });
}

absl::Status PgGalleryStore::UpdateMetadata(const std::string& gallery,
                                            const std::string& subject,
                                            const Metadata& metadata) {
  return InGallery<absl::Status>(
      gallery, [&](PgConnection* db, const GalleryRow& g) -> absl::Status {
        absl::StatusOr<int64_t> subject_id = FindSubject(db, g, gallery, subject);
        if (!subject_id.ok()) return subject_id.status();
        return While(absl::StrCat("updating subject '", subject, "'"),
                     db->Run("UPDATE subjects SET metadata_json = $1 WHERE id = $2",
                             {PgParam::Text(MetadataToJson(metadata)), PgParam::Int(*subject_id)}));
      });
}

absl::Status PgGalleryStore::DeleteFace(const std::string& gallery, int64_t face_id) {
  return InGallery<absl::Status>(
      gallery, [&](PgConnection* db, const GalleryRow& g) -> absl::Status {
        const std::string what = absl::StrCat("deleting face ", face_id);
        absl::StatusOr<PgTransaction> t = PgTransaction::Begin(db);
        if (!t.ok()) return While(what, t.status());
        absl::StatusOr<PgResult> r = db->Exec(
            "DELETE FROM faces WHERE id = $1 AND subject_id IN "
            "(SELECT id FROM subjects WHERE gallery_id = $2)",
            {PgParam::Int(face_id), PgParam::Int(g.id)});
        if (!r.ok()) return While(what, r.status());
        if (r->affected() == 0) return FaceNotFoundError(gallery, face_id);
        if (absl::Status s = LogPgFaceChanges(db, g.id, {face_id}, /*added=*/false); !s.ok()) {
          return While(what, s);
        }
        return While(what, t->Commit());
      });
}

absl::Status PgGalleryStore::DeleteSubject(const std::string& gallery,
                                           const std::string& subject) {
  return InGallery<absl::Status>(
      gallery, [&](PgConnection* db, const GalleryRow& g) -> absl::Status {
        const std::string what = absl::StrCat("deleting subject '", subject, "'");
        absl::StatusOr<int64_t> subject_id = FindSubject(db, g, gallery, subject);
        if (!subject_id.ok()) return subject_id.status();
        absl::StatusOr<PgTransaction> t = PgTransaction::Begin(db);
        if (!t.ok()) return While(what, t.status());
        if (absl::Status s = LogPgSubjectDeleted(db, g.id, *subject_id); !s.ok()) {
          return While(what, s);
        }
        // Its faces go with it (ON DELETE CASCADE).
        if (absl::Status s = db->Run("DELETE FROM subjects WHERE id = $1",
                                     {PgParam::Int(*subject_id)});
            !s.ok()) {
          return While(what, s);
        }
        return While(what, t->Commit());
      });
}

absl::StatusOr<std::vector<StoredFace>> PgGalleryStore::LoadFaces(const std::string& gallery) {
  using Result = absl::StatusOr<std::vector<StoredFace>>;
  return InGallery<Result>(gallery, [&](PgConnection* db, const GalleryRow& g) -> Result {
    const std::string what = absl::StrCat("loading gallery '", gallery, "'");
    // Through a cursor, a batch at a time: a million faces in one result
    // would sit in libpq's memory (600 MB) beside the copies made here.
    absl::StatusOr<PgTransaction> t = PgTransaction::Begin(db);
    if (!t.ok()) return While(what, t.status());
    if (absl::Status s = db->Run(
            "DECLARE load_faces NO SCROLL CURSOR FOR "
            "SELECT f.id::int8, s.name, f.embedding, f.created_unix_ms::int8 FROM faces f "
            "JOIN subjects s ON f.subject_id = s.id WHERE s.gallery_id = $1 ORDER BY f.id",
            {PgParam::Int(g.id)});
        !s.ok()) {
      return While(what, s);
    }
    std::vector<StoredFace> faces;
    for (;;) {
      absl::StatusOr<PgResult> r = db->Exec("FETCH FORWARD 20000 FROM load_faces");
      if (!r.ok()) return While(what, r.status());
      if (r->rows() == 0) break;
      for (int row = 0; row < r->rows(); ++row) {
        faces.push_back(StoredFace{r->Int(row, 0), r->Text(row, 1), r->Floats(row, 2),
                                   absl::FromUnixMillis(r->Int(row, 3))});
      }
    }
    if (absl::Status s = t->Commit(); !s.ok()) return While(what, s);
    return faces;
  });
}

absl::StatusOr<int64_t> PgGalleryStore::LastChange() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<int64_t> last = LastPgChange(db_.get());
  if (!last.ok()) return While("reading the change log", last.status());
  return last;
}

absl::StatusOr<std::vector<FaceChange>> PgGalleryStore::ChangesSince(const std::string& gallery,
                                                                     int64_t after) {
  using Result = absl::StatusOr<std::vector<FaceChange>>;
  return InGallery<Result>(gallery, [&](PgConnection* db, const GalleryRow& g) -> Result {
    Result changes = PgChangesSince(db, g.id, after);
    if (!changes.ok()) return While(absl::StrCat("reading gallery '", gallery, "''s changes"),
                                    changes.status());
    return changes;
  });
}

absl::Status PgGalleryStore::ForgetChanges(const std::string& gallery, int64_t up_to) {
  return InGallery<absl::Status>(gallery, [&](PgConnection* db, const GalleryRow& g) {
    return While(absl::StrCat("compacting gallery '", gallery, "''s changes"),
                 ForgetPgChanges(db, g.id, up_to));
  });
}

absl::StatusOr<std::vector<std::pair<int64_t, std::string>>> PgGalleryStore::FaceSubjects(
    const std::string& gallery) {
  using Result = absl::StatusOr<std::vector<std::pair<int64_t, std::string>>>;
  return InGallery<Result>(gallery, [&](PgConnection* db, const GalleryRow& g) -> Result {
    Result rows = PgFaceSubjects(db, g.id);
    if (!rows.ok()) return While(absl::StrCat("reading gallery '", gallery, "''s subjects"),
                                 rows.status());
    return rows;
  });
}

absl::StatusOr<std::vector<StoreChange>> PgGalleryStore::StoreChangesSince(int64_t after,
                                                                           int limit) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<std::vector<StoreChange>> changes = PgStoreChangesSince(db_.get(), after, limit);
  if (!changes.ok()) return While("reading the change log", changes.status());
  return changes;
}

bool PgGalleryStore::AwaitChanges(absl::Duration timeout) {
  absl::MutexLock lock(&listen_mu_);
  // LISTEN on a connection of its own (the store's is busy with requests).
  // Once it listens, say so at once: the caller then reads the log, so
  // nothing committed before LISTEN is missed either.
  if (!listening_) {
    if (listener_ == nullptr) {
      absl::StatusOr<std::unique_ptr<PgConnection>> conn = PgConnection::Connect(dsn_);
      if (conn.ok()) listener_ = *std::move(conn);
    }
    listening_ = listener_ != nullptr &&
                 listener_->Run(absl::StrCat("LISTEN ", kPgChangesChannel)).ok();
    if (listening_) return true;
    absl::SleepFor(timeout);  // the server is away: the caller polls
    return false;
  }
  absl::StatusOr<bool> notified = listener_->AwaitNotification(timeout);
  if (notified.ok()) return *notified;
  listening_ = false;  // LISTEN again once reconnected
  return true;
}

absl::StatusOr<int64_t> PgGalleryStore::CompactChanges(absl::Duration retention) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<int64_t> gone =
      CompactPgChanges(db_.get(), NowUnixMs() - absl::ToInt64Milliseconds(retention));
  if (!gone.ok()) return While("compacting the change log", gone.status());
  return gone;
}

}  // namespace faceserve
