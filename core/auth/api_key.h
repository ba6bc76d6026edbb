// API keys as strings (issue 29): their format, their generation and the
// digest that is stored instead of them.
//
// A key is "fsk_<id>_<secret>": the id is 16 hex digits (64 random bits,
// not secret: it names the key in lists and in the keys file), the secret 40
// hex digits (160 random bits, from the operating system's CSPRNG through
// OpenSSL). Only SHA-256 of the whole key is kept: a key of 160 random bits
// needs no slow password hash (which would add tens of milliseconds to every
// call), and its digest reveals nothing that helps to guess it. Digests are
// compared in constant time.
//
// Thread-safety: free functions, safe from any thread.
#ifndef FACESERVE_CORE_AUTH_API_KEY_H_
#define FACESERVE_CORE_AUTH_API_KEY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace faceserve {

struct GeneratedApiKey {
  std::string id;          // 16 hex digits
  std::string key;         // the whole key: shown once, never stored
  std::string sha256_hex;  // what is stored (64 hex digits)
};

// A new random key. INTERNAL when the system has no randomness to give.
absl::StatusOr<GeneratedApiKey> GenerateApiKey();

// The id of a well-formed key; INVALID_ARGUMENT (no key text in the
// message) for anything else.
absl::StatusOr<std::string> ApiKeyIdOf(absl::string_view key);

// SHA-256 of `text`, lower-case hex.
std::string Sha256Hex(absl::string_view text);

// Whether two digests are equal, in time independent of where they differ.
bool SameDigest(absl::string_view a, absl::string_view b);

// Checks: 16 lower-case hex digits (an id), 64 (a digest).
bool IsApiKeyId(absl::string_view id);
bool IsSha256Hex(absl::string_view hex);

}  // namespace faceserve

#endif  // FACESERVE_CORE_AUTH_API_KEY_H_
