// One API key as the server keeps it: never the key itself, only its digest,
// with what it may do.
#ifndef FACESERVE_CORE_AUTH_API_KEY_RECORD_H_
#define FACESERVE_CORE_AUTH_API_KEY_RECORD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/auth/access_scope.h"

namespace faceserve {

// Galleries "*": every gallery, present and future.
inline constexpr char kAllGalleries[] = "*";

struct ApiKeyRecord {
  enum class Source {
    kStore,  // made by CreateApiKey, kept in the gallery database
    kFile,   // listed in auth.keys_file (revoked by editing the file)
  };

  std::string id;          // 16 hex digits, the key's public part
  std::string name;        // what it is for, e.g. "billing-service"
  std::string sha256_hex;  // SHA-256 of the whole key
  std::vector<Scope> scopes;
  std::vector<std::string> galleries;  // names, or kAllGalleries
  int64_t created_unix_ms = 0;
  Source source = Source::kStore;

  // `scope` is held (admin holds every scope).
  bool Holds(Scope scope) const;
  // `gallery` is granted (by name or by "*").
  bool Grants(const std::string& gallery) const;
  bool GrantsAllGalleries() const;
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_AUTH_API_KEY_RECORD_H_
