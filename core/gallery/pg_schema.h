// The PostgreSQL gallery database's schema (issue 33): versioned migrations
// that only add (expand now, contract in a later release), so that old and
// new replicas run side by side during a rolling upgrade. Run at start-up
// under an advisory lock, so that replicas starting together migrate once,
// in turn.
#ifndef FACESERVE_CORE_GALLERY_PG_SCHEMA_H_
#define FACESERVE_CORE_GALLERY_PG_SCHEMA_H_

#include "absl/status/status.h"
#include "core/gallery/pg_connection.h"

namespace faceserve {

// The schema version this faceserve writes.
int CurrentPgSchemaVersion();

// Brings the database to CurrentPgSchemaVersion(). A database of a newer
// version is fine as long as it only added (its replicas write what this one
// reads); FAILED_PRECONDITION when it says this faceserve is too old to run
// on it (faceserve_schema.min_reader_version).
absl::Status MigratePgSchema(PgConnection* db);

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_PG_SCHEMA_H_
