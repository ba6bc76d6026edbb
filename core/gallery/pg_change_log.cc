#include "core/gallery/pg_change_log.h"

#include "absl/strings/str_cat.h"
#include "core/error_reason.h"

namespace faceserve {
namespace {

// The next `n` change numbers, the first of them returned. The counter
// row's lock is held to the commit: the next writer's numbers wait for it,
// so a number never commits before a smaller one.
absl::StatusOr<int64_t> TakeChanges(PgConnection* db, int64_t n) {
  absl::StatusOr<PgResult> last = db->Exec(
      "UPDATE change_counter SET last = last + $1 WHERE id = 1 RETURNING last::int8",
      {PgParam::Int(n)});
  if (!last.ok()) return last.status();
  return last->Int(0, 0) - n + 1;
}

// Wakes the replicas LISTENing (delivered at commit, once per transaction
// and payload).
absl::Status Notify(PgConnection* db, int64_t change) {
  return db->Run("SELECT pg_notify($1, $2)",
                 {PgParam::Text(kPgChangesChannel), PgParam::Text(absl::StrCat(change))});
}

// OUT_OF_RANGE when the log was compacted past `after`. Read after the
// changes themselves: a compaction that lands in between is then seen.
absl::Status CheckHorizon(PgConnection* db, int64_t after) {
  absl::StatusOr<PgResult> r =
      db->Exec("SELECT compacted_up_to::int8 FROM change_log_horizon WHERE id = 1");
  if (!r.ok()) return r.status();
  const int64_t horizon = r->rows() == 0 ? 0 : r->Int(0, 0);
  if (after >= horizon) return absl::OkStatus();
  return WithReason(absl::OutOfRangeError(absl::StrCat(
                        "the gallery change log was compacted up to change ", horizon,
                        ", past change ", after, ": reload in full")),
                    ErrorReason::kStorageError);
}

FaceChange FaceChangeFrom(const PgResult& rows, int r, int first) {
  FaceChange change;
  change.change = rows.Int(r, 0);
  change.face_id = rows.Int(r, first);
  change.added = rows.Bool(r, first + 1);
  if (change.added && !rows.IsNull(r, first + 2)) {
    change.subject = rows.Text(r, first + 2);
    change.embedding = rows.Floats(r, first + 3);
  }
  return change;
}

}  // namespace

absl::Status LogPgFaceChanges(PgConnection* db, int64_t gallery_id,
                              const std::vector<int64_t>& face_ids, bool added) {
  if (face_ids.empty()) return absl::OkStatus();
  absl::StatusOr<int64_t> first = TakeChanges(db, static_cast<int64_t>(face_ids.size()));
  if (!first.ok()) return first.status();
  int64_t change = *first;
  for (int64_t face_id : face_ids) {
    if (absl::Status s = db->Run(
            "INSERT INTO face_changes (change, gallery_id, face_id, added) VALUES ($1, $2, $3, $4)",
            {PgParam::Int(change), PgParam::Int(gallery_id), PgParam::Int(face_id),
             PgParam::Text(added ? "true" : "false")});
        !s.ok()) {
      return s;
    }
    ++change;
  }
  return Notify(db, change - 1);
}

absl::Status LogPgGalleryChange(PgConnection* db, const std::string& name, bool created) {
  absl::StatusOr<int64_t> change = TakeChanges(db, 1);
  if (!change.ok()) return change.status();
  if (absl::Status s = db->Run(
          "INSERT INTO gallery_changes (change, gallery_name, created) VALUES ($1, $2, $3)",
          {PgParam::Int(*change), PgParam::Text(name), PgParam::Text(created ? "true" : "false")});
      !s.ok()) {
    return s;
  }
  return Notify(db, *change);
}

absl::Status LogPgSubjectDeleted(PgConnection* db, int64_t gallery_id, int64_t subject_id) {
  absl::StatusOr<PgResult> faces = db->Exec(
      "SELECT id::int8 FROM faces WHERE subject_id = $1 ORDER BY id", {PgParam::Int(subject_id)});
  if (!faces.ok()) return faces.status();
  std::vector<int64_t> ids;
  for (int r = 0; r < faces->rows(); ++r) ids.push_back(faces->Int(r, 0));
  return LogPgFaceChanges(db, gallery_id, ids, /*added=*/false);
}

absl::StatusOr<int64_t> LastPgChange(PgConnection* db) {
  absl::StatusOr<PgResult> last = db->Exec("SELECT last::int8 FROM change_counter WHERE id = 1");
  if (!last.ok()) return last.status();
  return last->rows() == 0 ? 0 : last->Int(0, 0);
}

absl::StatusOr<std::vector<FaceChange>> PgChangesSince(PgConnection* db, int64_t gallery_id,
                                                      int64_t after) {
  absl::StatusOr<PgResult> rows = db->Exec(
      "SELECT c.change::int8, c.face_id::int8, c.added, s.name, f.embedding "
      "FROM face_changes c "
      "LEFT JOIN faces f ON c.added AND f.id = c.face_id "
      "LEFT JOIN subjects s ON s.id = f.subject_id AND s.gallery_id = c.gallery_id "
      "WHERE c.gallery_id = $1 AND c.change > $2 ORDER BY c.change",
      {PgParam::Int(gallery_id), PgParam::Int(after)});
  if (!rows.ok()) return rows.status();
  if (absl::Status s = CheckHorizon(db, after); !s.ok()) return s;
  std::vector<FaceChange> changes;
  for (int r = 0; r < rows->rows(); ++r) changes.push_back(FaceChangeFrom(*rows, r, 1));
  return changes;
}

absl::StatusOr<std::vector<StoreChange>> PgStoreChangesSince(PgConnection* db, int64_t after,
                                                            int limit) {
  // Faces' changes of galleries that still exist (a deleted gallery's went
  // with it; its deletion is in gallery_changes), and galleries' changes.
  absl::StatusOr<PgResult> rows = db->Exec(
      "SELECT c.change::int8, 0::int4, g.name, c.face_id::int8, c.added, s.name, f.embedding "
      "FROM face_changes c JOIN galleries g ON g.id = c.gallery_id "
      "LEFT JOIN faces f ON c.added AND f.id = c.face_id "
      "LEFT JOIN subjects s ON s.id = f.subject_id AND s.gallery_id = c.gallery_id "
      "WHERE c.change > $1 "
      "UNION ALL SELECT change::int8, CASE WHEN created THEN 1 ELSE 2 END::int4, gallery_name, "
      "0::int8, false, NULL, NULL FROM gallery_changes WHERE change > $1 "
      "ORDER BY 1 LIMIT $2",
      {PgParam::Int(after), PgParam::Int(limit)});
  if (!rows.ok()) return rows.status();
  if (absl::Status s = CheckHorizon(db, after); !s.ok()) return s;
  std::vector<StoreChange> changes;
  changes.reserve(static_cast<size_t>(rows->rows()));
  for (int r = 0; r < rows->rows(); ++r) {
    StoreChange change;
    change.change = rows->Int(r, 0);
    const int64_t kind = rows->Int(r, 1);
    change.kind = kind == 1   ? StoreChange::Kind::kGalleryCreated
                  : kind == 2 ? StoreChange::Kind::kGalleryDeleted
                              : StoreChange::Kind::kFace;
    change.gallery = rows->Text(r, 2);
    if (change.kind == StoreChange::Kind::kFace) change.face = FaceChangeFrom(*rows, r, 3);
    changes.push_back(std::move(change));
  }
  return changes;
}

absl::StatusOr<int64_t> CompactPgChanges(PgConnection* db, int64_t before_unix_ms) {
  absl::StatusOr<PgResult> r = db->Exec(
      "WITH f AS (DELETE FROM face_changes WHERE logged_unix_ms < $1 RETURNING change), "
      "g AS (DELETE FROM gallery_changes WHERE logged_unix_ms < $1 RETURNING change), "
      "gone AS (SELECT change FROM f UNION ALL SELECT change FROM g), "
      "raised AS (UPDATE change_log_horizon SET compacted_up_to = "
      "GREATEST(compacted_up_to, COALESCE((SELECT max(change) FROM gone), 0)) WHERE id = 1) "
      "SELECT count(*)::int8 FROM gone",
      {PgParam::Int(before_unix_ms)});
  if (!r.ok()) return r.status();
  return r->Int(0, 0);
}

absl::Status ForgetPgChanges(PgConnection* db, int64_t gallery_id, int64_t up_to) {
  return db->Run("DELETE FROM face_changes WHERE gallery_id = $1 AND change <= $2",
                 {PgParam::Int(gallery_id), PgParam::Int(up_to)});
}

absl::StatusOr<std::vector<std::pair<int64_t, std::string>>> PgFaceSubjects(PgConnection* db,
                                                                            int64_t gallery_id) {
  absl::StatusOr<PgResult> rows = db->Exec(
      "SELECT f.id::int8, s.name FROM subjects s JOIN faces f ON f.subject_id = s.id "
      "WHERE s.gallery_id = $1",
      {PgParam::Int(gallery_id)});
  if (!rows.ok()) return rows.status();
  std::vector<std::pair<int64_t, std::string>> out;
  for (int r = 0; r < rows->rows(); ++r) out.emplace_back(rows->Int(r, 0), rows->Text(r, 1));
  return out;
}

}  // namespace faceserve
