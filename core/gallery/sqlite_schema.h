// The gallery database's schema, versioned: migration N turns version N - 1
// into N, each in its own transaction, so a database written by an older
// faceserve is brought up to date at open and one written by a newer
// faceserve is refused. Private to core/gallery.
#ifndef FACESERVE_CORE_GALLERY_SQLITE_SCHEMA_H_
#define FACESERVE_CORE_GALLERY_SQLITE_SCHEMA_H_

#include <SQLiteCpp/Database.h>

#include "absl/status/status.h"

namespace faceserve {

// The version this build writes.
int CurrentSchemaVersion();

// Runs the migrations `db` lacks. FAILED_PRECONDITION for a database of a
// newer version than this build knows.
absl::Status MigrateSchema(SQLite::Database& db);

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_SQLITE_SCHEMA_H_
