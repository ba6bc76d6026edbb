#include "core/gallery/face_id_list.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace faceserve {

std::vector<int64_t> FaceIdsFromList(absl::string_view comma_separated) {
  std::vector<int64_t> ids;
  for (absl::string_view id : absl::StrSplit(comma_separated, ',', absl::SkipEmpty())) {
    int64_t v = 0;
    if (absl::SimpleAtoi(id, &v)) ids.push_back(v);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace faceserve
