// One API key as the server keeps it: never the key itself, only its digest,
// with what it may do.
#ifndef FACESERVE_CORE_AUTH_API_KEY_RECORD_H_
#define FACESERVE_CORE_AUTH_API_KEY_RECORD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
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

// How the key stores (SQLite, PostgreSQL) keep a record's lists in text
// columns: scopes by name joined by ','; galleries by '\n' (a gallery name
// holds no control character). A scope this build does not know (a newer
// faceserve's) reads as nothing: it grants nothing.
std::string ScopesColumn(const std::vector<Scope>& scopes);
std::vector<Scope> ScopesFromColumn(absl::string_view text);
std::string GalleriesColumn(const std::vector<std::string>& galleries);
std::vector<std::string> GalleriesFromColumn(absl::string_view text);

}  // namespace faceserve

#endif  // FACESERVE_CORE_AUTH_API_KEY_RECORD_H_
