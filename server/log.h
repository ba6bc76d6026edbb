// One line on stderr per lifecycle event: "<UTC time> faceserve: <message>".
// Written with a single fputs so lines from different threads do not mix.
#ifndef FACESERVE_SERVER_LOG_H_
#define FACESERVE_SERVER_LOG_H_

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace faceserve {

inline void LogEvent(absl::string_view message) {
  const std::string line =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                   " faceserve: ", message, "\n");
  std::fputs(line.c_str(), stderr);
}

}  // namespace faceserve

#endif  // FACESERVE_SERVER_LOG_H_
