// A subject's face ids as both gallery databases aggregate them in one
// column (SQLite's group_concat, PostgreSQL's string_agg): "3,1,2".
#ifndef FACESERVE_CORE_GALLERY_FACE_ID_LIST_H_
#define FACESERVE_CORE_GALLERY_FACE_ID_LIST_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"

namespace faceserve {

// The ids in ascending order; empty text gives none, a malformed id is left out.
std::vector<int64_t> FaceIdsFromList(absl::string_view comma_separated);

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_FACE_ID_LIST_H_
