// auth.keys_file: API keys an operator provisions without the API (the
// first admin key, keys kept in a Kubernetes secret). The file holds digests,
// never keys: a YAML sequence of entries, each
//
//   - id: 0123456789abcdef      # the key's 16 hex digits after "fsk_"
//     name: billing-service
//     sha256: <64 hex digits: SHA-256 of the whole key>
//     scopes: [identify]         # analyze, identify, enroll, admin
//     galleries: [staff]         # names, or "*" for every gallery;
//                                # optional (none: FaceService alone)
//
// `facectl api-key generate --keys-file F ...` makes a key and appends its
// entry. An empty file holds no keys.
#ifndef FACESERVE_CORE_AUTH_API_KEYS_FILE_H_
#define FACESERVE_CORE_AUTH_API_KEYS_FILE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/auth/api_key_record.h"

namespace faceserve {

// The file's text; NOT_FOUND naming auth.keys_file when it cannot be read.
absl::StatusOr<std::string> ReadApiKeysFileText(const std::string& path);

// The file's keys (source kFile). NOT_FOUND when it cannot be read,
// INVALID_ARGUMENT naming the entry and field for anything malformed (a
// duplicate id included). Messages never quote a digest.
absl::StatusOr<std::vector<ApiKeyRecord>> ReadApiKeysFile(const std::string& path);

// The same from text; `source` names it in messages.
absl::StatusOr<std::vector<ApiKeyRecord>> ParseApiKeysFile(const std::string& text,
                                                           const std::string& source);

// `key`'s entry, as the file holds it (ends with a newline).
std::string FormatApiKeysFileEntry(const ApiKeyRecord& key);

}  // namespace faceserve

#endif  // FACESERVE_CORE_AUTH_API_KEYS_FILE_H_
