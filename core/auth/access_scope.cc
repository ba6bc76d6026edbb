#include "core/auth/access_scope.h"

namespace faceserve {

const std::vector<Scope>& AllScopes() {
  static const auto* all =
      new std::vector<Scope>{Scope::kAnalyze, Scope::kIdentify, Scope::kEnroll, Scope::kAdmin};
  return *all;
}

absl::string_view ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kAnalyze:
      return "analyze";
    case Scope::kIdentify:
      return "identify";
    case Scope::kEnroll:
      return "enroll";
    case Scope::kAdmin:
      return "admin";
  }
  return "unknown";
}

std::optional<Scope> ScopeFromName(absl::string_view name) {
  for (Scope s : AllScopes()) {
    if (ScopeName(s) == name) return s;
  }
  return std::nullopt;
}

}  // namespace faceserve
