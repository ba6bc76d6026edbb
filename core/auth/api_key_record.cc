#include "core/auth/api_key_record.h"

#include <algorithm>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace faceserve {

bool ApiKeyRecord::Holds(Scope scope) const {
  return std::find(scopes.begin(), scopes.end(), Scope::kAdmin) != scopes.end() ||
         std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
}

bool ApiKeyRecord::GrantsAllGalleries() const {
  return std::find(galleries.begin(), galleries.end(), kAllGalleries) != galleries.end();
}

bool ApiKeyRecord::Grants(const std::string& gallery) const {
  return GrantsAllGalleries() ||
         std::find(galleries.begin(), galleries.end(), gallery) != galleries.end();
}

std::string ScopesColumn(const std::vector<Scope>& scopes) {
  std::vector<std::string> names;
  for (Scope s : scopes) names.emplace_back(ScopeName(s));
  return absl::StrJoin(names, ",");
}

std::vector<Scope> ScopesFromColumn(absl::string_view text) {
  std::vector<Scope> scopes;
  for (absl::string_view name : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    if (std::optional<Scope> s = ScopeFromName(name)) scopes.push_back(*s);
  }
  return scopes;
}

std::string GalleriesColumn(const std::vector<std::string>& galleries) {
  return absl::StrJoin(galleries, "\n");
}

std::vector<std::string> GalleriesFromColumn(absl::string_view text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

}  // namespace faceserve
