// What an API key may do (issue 29): the operations of every faceserve
// service fall into four scopes. `admin` implies the other three.
//
//   analyze   FaceService's Analyze, Embed and Verify (no gallery)
//   identify  searching a gallery: Identify, Search, Analyze with
//             identification; reading its subjects
//   enroll    changing a gallery's people: Enroll, UpdateSubject,
//             DeleteFace, DeleteSubject; reading its subjects
//   admin     creating and deleting galleries; API keys themselves (with
//             every gallery granted)
#ifndef FACESERVE_CORE_AUTH_ACCESS_SCOPE_H_
#define FACESERVE_CORE_AUTH_ACCESS_SCOPE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace faceserve {

enum class Scope { kAnalyze, kIdentify, kEnroll, kAdmin };

// Every scope, in the order above.
const std::vector<Scope>& AllScopes();
// "analyze", "identify", "enroll", "admin".
absl::string_view ScopeName(Scope scope);
std::optional<Scope> ScopeFromName(absl::string_view name);

// What one call needs: a key holding any of `any_of` (empty: any valid key),
// and, when `gallery` is set, that gallery granted.
struct AccessNeed {
  std::vector<Scope> any_of;
  std::string gallery;
  // Key management needs every gallery granted, not one.
  bool all_galleries = false;
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_AUTH_ACCESS_SCOPE_H_
