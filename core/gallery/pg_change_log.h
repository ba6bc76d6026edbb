// The change log in the PostgreSQL gallery database (table face_changes;
// GalleryStore's ChangesSince and friends): every face added or deleted,
// numbered in commit order across the database, so that an index snapshot,
// or another replica's index, covering change N is brought up to date by
// replaying what follows N. The numbers come from the change_counter row,
// which a writer updates inside its transaction (pg_schema.cc says why).
// Each logged change also notifies channel kPgChangesChannel at commit, so
// that replicas waiting with LISTEN wake up. Helpers of PgGalleryStore,
// called under its lock (the Log* ones inside its write transactions).
#ifndef FACESERVE_CORE_GALLERY_PG_CHANGE_LOG_H_
#define FACESERVE_CORE_GALLERY_PG_CHANGE_LOG_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/gallery/gallery_store.h"
#include "core/gallery/pg_connection.h"

namespace faceserve {

inline constexpr char kPgChangesChannel[] = "faceserve_gallery_changes";

// Logs `face_ids` of gallery row `gallery_id` as added (or deleted).
absl::Status LogPgFaceChanges(PgConnection* db, int64_t gallery_id,
                              const std::vector<int64_t>& face_ids, bool added);
// Logs the deletion of every face of subject row `subject_id` (before it is
// deleted).
absl::Status LogPgSubjectDeleted(PgConnection* db, int64_t gallery_id, int64_t subject_id);
// Logs gallery `name` as created (or deleted).
absl::Status LogPgGalleryChange(PgConnection* db, const std::string& name, bool created);

// The last change number handed out (0 before any).
absl::StatusOr<int64_t> LastPgChange(PgConnection* db);
// OUT_OF_RANGE (both) when changes after `after` were compacted away.
absl::StatusOr<std::vector<FaceChange>> PgChangesSince(PgConnection* db, int64_t gallery_id,
                                                      int64_t after);
absl::StatusOr<std::vector<StoreChange>> PgStoreChangesSince(PgConnection* db, int64_t after,
                                                            int limit);
// Drops the changes logged before `before_unix_ms` and raises the horizon
// below which nobody can catch up; how many went.
absl::StatusOr<int64_t> CompactPgChanges(PgConnection* db, int64_t before_unix_ms);
absl::Status ForgetPgChanges(PgConnection* db, int64_t gallery_id, int64_t up_to);
absl::StatusOr<std::vector<std::pair<int64_t, std::string>>> PgFaceSubjects(PgConnection* db,
                                                                            int64_t gallery_id);

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_PG_CHANGE_LOG_H_
