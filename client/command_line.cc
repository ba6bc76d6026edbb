#include "client/command_line.h"

#include <cmath>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace faceserve::client {

bool ParsedArgs::Has(std::string_view name) const { return flags.find(name) != flags.end(); }

std::string ParsedArgs::Get(std::string_view name, std::string default_value) const {
  auto it = flags.find(name);
  return it == flags.end() ? default_value : it->second;
}

absl::StatusOr<int64_t> ParsedArgs::GetInt(std::string_view name, int64_t default_value,
                                           int64_t min, int64_t max) const {
  auto it = flags.find(name);
  if (it == flags.end()) return default_value;
  int64_t v = 0;
  if (!absl::SimpleAtoi(it->second, &v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", std::string(name), " expects an integer, got '", it->second, "'"));
  }
  if (v < min || v > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", std::string(name), " must be in [", min, ", ", max, "], got ", v));
  }
  return v;
}

absl::StatusOr<double> ParsedArgs::GetDouble(std::string_view name, double default_value,
                                             double min, double max) const {
  auto it = flags.find(name);
  if (it == flags.end()) return default_value;
  double v = 0;
  if (!absl::SimpleAtod(it->second, &v) || !std::isfinite(v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", std::string(name), " expects a number, got '", it->second, "'"));
  }
  if (v < min || v > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", std::string(name), " must be in [", min, ", ", max, "], got ", it->second));
  }
  return v;
}

std::vector<std::string> ParsedArgs::GetList(std::string_view name) const {
  auto it = flags.find(name);
  if (it == flags.end()) return {};
  return absl::StrSplit(it->second, ',', absl::SkipWhitespace());
}

absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     const std::vector<FlagSpec>& specs) {
  ParsedArgs parsed;
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
      parsed.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    if (arg[1] != '-') {
      return absl::InvalidArgumentError(absl::StrCat("unknown option '", arg, "'"));
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_inline_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      has_inline_value = true;
    }
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& s : specs) {
      if (s.name == name) spec = &s;
    }
    if (spec == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown option '--", name, "'"));
    }
    if (!spec->takes_value) {
      if (has_inline_value) {
        return absl::InvalidArgumentError(absl::StrCat("option '--", name, "' takes no value"));
      }
      value = "true";
    } else if (!has_inline_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("option '--", name, "' needs a value"));
      }
      value = args[++i];
    }
    parsed.flags[name] = value;
  }
  return parsed;
}

}  // namespace faceserve::client
