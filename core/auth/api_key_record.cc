#include "core/auth/api_key_record.h"

#include <algorithm>

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

}  // namespace faceserve
