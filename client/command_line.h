// A small command-line parser for facectl: GNU-style long flags
// ("--name value", "--name=value", boolean "--name"), positional arguments,
// and "--" to end the flags. Every failure is a usage error
// (absl::InvalidArgumentError) that facectl turns into exit code 2.
//
// Not thread-compatible concerns: plain values, safe to copy and share const.
#ifndef FACESERVE_CLIENT_COMMAND_LINE_H_
#define FACESERVE_CLIENT_COMMAND_LINE_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace faceserve::client {

// One accepted flag, named without its leading "--".
struct FlagSpec {
  std::string name;
  bool takes_value = false;  // false: a boolean switch
};

// The result of ParseArgs: positional arguments in order and the flags seen
// (the last occurrence of a repeated flag wins; a switch maps to "true").
class ParsedArgs {
 public:
  std::vector<std::string> positional;
  std::map<std::string, std::string, std::less<>> flags;

  bool Has(std::string_view name) const;
  std::string Get(std::string_view name, std::string default_value = "") const;
  // The flag as an integer in [min, max]; default_value when absent.
  absl::StatusOr<int64_t> GetInt(std::string_view name, int64_t default_value, int64_t min,
                                 int64_t max) const;
  // The flag as a finite number in [min, max]; default_value when absent.
  absl::StatusOr<double> GetDouble(std::string_view name, double default_value, double min,
                                   double max) const;
  // The flag split on commas, empty items dropped; empty when absent.
  std::vector<std::string> GetList(std::string_view name) const;
};

// Parses `args` (without the program and subcommand names) against `specs`.
// Unknown flags, a missing value, or a value given to a switch are usage
// errors. A lone "-" is positional.
absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     const std::vector<FlagSpec>& specs);

}  // namespace faceserve::client

#endif  // FACESERVE_CLIENT_COMMAND_LINE_H_
