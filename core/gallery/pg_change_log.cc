#include "core/gallery/pg_change_log.h"

#include "absl/strings/str_cat.h"

namespace faceserve {

absl::Status LogPgFaceChanges(PgConnection* db, int64_t gallery_id,
                              const std::vector<int64_t>& face_ids, bool added) {
  if (face_ids.empty()) return absl::OkStatus();
  // The counter row's lock is held to the commit: the next writer's numbers
  // wait for it, so a number never commits before a smaller one.
  absl::StatusOr<PgResult> last = db->Exec(
      "UPDATE change_counter SET last = last + $1 WHERE id = 1 RETURNING last::int8",
      {PgParam::Int(static_cast<int64_t>(face_ids.size()))});
  if (!last.ok()) return last.status();
  int64_t change = last->Int(0, 0) - static_cast<int64_t>(face_ids.size());
  for (int64_t face_id : face_ids) {
    if (absl::Status s = db->Run(
            "INSERT INTO face_changes (change, gallery_id, face_id, added) VALUES ($1, $2, $3, $4)",
            {PgParam::Int(++change), PgParam::Int(gallery_id), PgParam::Int(face_id),
             PgParam::Text(added ? "true" : "false")});
        !s.ok()) {
      return s;
    }
  }
  return db->Run("SELECT pg_notify($1, $2)",
                 {PgParam::Text(kPgChangesChannel), PgParam::Text(absl::StrCat(change))});
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
  std::vector<FaceChange> changes;
  for (int r = 0; r < rows->rows(); ++r) {
    FaceChange change;
    change.change = rows->Int(r, 0);
    change.face_id = rows->Int(r, 1);
    change.added = rows->Bool(r, 2);
    if (change.added && !rows->IsNull(r, 3)) {
      change.subject = rows->Text(r, 3);
      change.embedding = rows->Floats(r, 4);
    }
    changes.push_back(std::move(change));
  }
  return changes;
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
