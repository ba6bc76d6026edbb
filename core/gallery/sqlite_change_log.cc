#include "core/gallery/sqlite_change_log.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "core/gallery/sqlite_rows.h"

namespace faceserve {
namespace {

void Log(SQLite::Database& db, int64_t gallery_id, int64_t face_id, bool added) {
  SQLite::Statement q(db, "INSERT INTO face_changes (gallery_id, face_id, added) VALUES (?, ?, ?)");
  q.bind(1, gallery_id);
  q.bind(2, face_id);
  q.bind(3, added ? 1 : 0);
  q.exec();
}

}  // namespace

void LogFaceAdded(SQLite::Database& db, int64_t gallery_id, int64_t face_id) {
  Log(db, gallery_id, face_id, true);
}

void LogFaceDeleted(SQLite::Database& db, int64_t gallery_id, int64_t face_id) {
  Log(db, gallery_id, face_id, false);
}

void LogSubjectDeleted(SQLite::Database& db, int64_t gallery_id, int64_t subject_id) {
  SQLite::Statement q(db,
                      "INSERT INTO face_changes (gallery_id, face_id, added) "
                      "SELECT ?, id, 0 FROM faces WHERE subject_id = ? ORDER BY id");
  q.bind(1, gallery_id);
  q.bind(2, subject_id);
  q.exec();
}

int64_t LastChangeRow(SQLite::Database& db) {
  // AUTOINCREMENT keeps the last number handed out here, even when the rows
  // that carried it were forgotten.
  SQLite::Statement q(db, "SELECT seq FROM sqlite_sequence WHERE name = 'face_changes'");
  return q.executeStep() ? q.getColumn(0).getInt64() : 0;
}

std::vector<FaceChange> ChangeRowsSince(SQLite::Database& db, int64_t gallery_id, int64_t after) {
  SQLite::Statement q(db,
                      "SELECT c.change, c.face_id, c.added, s.name, f.embedding "
                      "FROM face_changes c "
                      "LEFT JOIN faces f ON c.added = 1 AND f.id = c.face_id "
                      "LEFT JOIN subjects s ON s.id = f.subject_id AND s.gallery_id = c.gallery_id "
                      "WHERE c.gallery_id = ? AND c.change > ? ORDER BY c.change");
  q.bind(1, gallery_id);
  q.bind(2, after);
  std::vector<FaceChange> changes;
  while (q.executeStep()) {
    FaceChange change;
    change.change = q.getColumn(0).getInt64();
    change.face_id = q.getColumn(1).getInt64();
    change.added = q.getColumn(2).getInt() == 1;
    if (change.added && !q.getColumn(3).isNull()) {
      change.subject = q.getColumn(3).getString();
      change.embedding = EmbeddingFromBlob(q.getColumn(4));
    }
    changes.push_back(std::move(change));
  }
  return changes;
}

void ForgetChangeRows(SQLite::Database& db, int64_t gallery_id, int64_t up_to) {
  SQLite::Statement q(db, "DELETE FROM face_changes WHERE gallery_id = ? AND change <= ?");
  q.bind(1, gallery_id);
  q.bind(2, up_to);
  q.exec();
}

std::vector<std::pair<int64_t, std::string>> FaceSubjectRows(SQLite::Database& db,
                                                             int64_t gallery_id) {
  // faces_by_subject covers (subject_id, id): no embedding is read.
  SQLite::Statement q(db,
                      "SELECT f.id, s.name FROM subjects s JOIN faces f ON f.subject_id = s.id "
                      "WHERE s.gallery_id = ?");
  q.bind(1, gallery_id);
  std::vector<std::pair<int64_t, std::string>> rows;
  while (q.executeStep()) rows.emplace_back(q.getColumn(0).getInt64(), q.getColumn(1).getString());
  return rows;
}

}  // namespace faceserve
