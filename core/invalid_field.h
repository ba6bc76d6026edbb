// InvalidFieldError: the one shape of a bad request field's error,
// INVALID_ARGUMENT "<field>: <what>" with reason INVALID_FIELD and the field
// in its metadata, for every layer that checks a request (proto
// conversions, the HTTP body, API key requests).
#ifndef FACESERVE_CORE_INVALID_FIELD_H_
#define FACESERVE_CORE_INVALID_FIELD_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/error_reason.h"

namespace faceserve {

inline absl::Status InvalidFieldError(absl::string_view field, absl::string_view what) {
  return WithReason(absl::InvalidArgumentError(absl::StrCat(field, ": ", what)),
                    ErrorReason::kInvalidField, {{"field", std::string(field)}});
}

}  // namespace faceserve

#endif  // FACESERVE_CORE_INVALID_FIELD_H_
