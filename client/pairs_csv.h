// Reader for verification pair lists: CSV with a header naming at least the
// columns img_a, img_b and same (in any order; other columns are ignored).
// Fields may be quoted ("a,b" and "" for a quote); CRLF line ends and blank
// lines are accepted. "same" is 1/0, true/false or yes/no (any case).
#ifndef FACESERVE_CLIENT_PAIRS_CSV_H_
#define FACESERVE_CLIENT_PAIRS_CSV_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace faceserve::client {

struct ImagePair {
  std::string img_a;  // path as written in the file
  std::string img_b;
  bool same = false;
};

// INVALID_ARGUMENT naming the line for a malformed file or a missing column.
absl::StatusOr<std::vector<ImagePair>> ParsePairsCsv(std::string_view text);

}  // namespace faceserve::client

#endif  // FACESERVE_CLIENT_PAIRS_CSV_H_
