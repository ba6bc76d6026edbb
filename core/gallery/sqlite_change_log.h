// The change log in the SQLite gallery database (table face_changes, schema
// version 3; GalleryStore's ChangesSince and friends): every face added or
// deleted, numbered in commit order, so that an index snapshot covering
// change N is brought up to date by replaying what follows N. Helpers of
// SqliteGalleryStore, called under its lock (the Log* ones inside its write
// transactions); they throw SQLite::Exception like the rest.
#ifndef FACESERVE_CORE_GALLERY_SQLITE_CHANGE_LOG_H_
#define FACESERVE_CORE_GALLERY_SQLITE_CHANGE_LOG_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/gallery/gallery_store.h"

namespace SQLite {
class Database;
}  // namespace SQLite

namespace faceserve {

void LogFaceAdded(SQLite::Database& db, int64_t gallery_id, int64_t face_id);
void LogFaceDeleted(SQLite::Database& db, int64_t gallery_id, int64_t face_id);
// Logs the deletion of every face of subject row `subject_id` (before it is
// deleted).
void LogSubjectDeleted(SQLite::Database& db, int64_t gallery_id, int64_t subject_id);

// The last change number handed out in the database (0 before any).
int64_t LastChangeRow(SQLite::Database& db);
std::vector<FaceChange> ChangeRowsSince(SQLite::Database& db, int64_t gallery_id, int64_t after);
void ForgetChangeRows(SQLite::Database& db, int64_t gallery_id, int64_t up_to);
std::vector<std::pair<int64_t, std::string>> FaceSubjectRows(SQLite::Database& db,
                                                             int64_t gallery_id);

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_SQLITE_CHANGE_LOG_H_
