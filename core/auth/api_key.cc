#include "core/auth/api_key.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace faceserve {
namespace {

constexpr absl::string_view kPrefix = "fsk_";
constexpr size_t kIdBytes = 8;       // 16 hex digits
constexpr size_t kSecretBytes = 20;  // 40 hex digits: 160 bits

bool IsLowerHex(absl::string_view text, size_t digits) {
  if (text.size() != digits) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

absl::StatusOr<std::string> RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    return absl::InternalError("no randomness for a new API key (OpenSSL RAND_bytes failed)");
  }
  return absl::BytesToHexString(raw);
}

}  // namespace

absl::StatusOr<GeneratedApiKey> GenerateApiKey() {
  absl::StatusOr<std::string> id = RandomHex(kIdBytes);
  if (!id.ok()) return id.status();
  absl::StatusOr<std::string> secret = RandomHex(kSecretBytes);
  if (!secret.ok()) return secret.status();
  GeneratedApiKey key;
  key.id = *id;
  key.key = absl::StrCat(kPrefix, *id, "_", *secret);
  key.sha256_hex = Sha256Hex(key.key);
  return key;
}

absl::StatusOr<std::string> ApiKeyIdOf(absl::string_view key) {
  const size_t id_digits = 2 * kIdBytes, secret_digits = 2 * kSecretBytes;
  if (key.size() == kPrefix.size() + id_digits + 1 + secret_digits &&
      absl::StartsWith(key, kPrefix) && key[kPrefix.size() + id_digits] == '_') {
    const absl::string_view id = key.substr(kPrefix.size(), id_digits);
    if (IsLowerHex(id, id_digits) &&
        IsLowerHex(key.substr(kPrefix.size() + id_digits + 1), secret_digits)) {
      return std::string(id);
    }
  }
  return absl::InvalidArgumentError(
      "not a faceserve API key (expected fsk_ followed by 16 and 40 hex digits)");
}

std::string Sha256Hex(absl::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

bool SameDigest(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;  // lengths are public (always 64)
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool IsApiKeyId(absl::string_view id) { return IsLowerHex(id, 2 * kIdBytes); }
bool IsSha256Hex(absl::string_view hex) { return IsLowerHex(hex, 2 * SHA256_DIGEST_LENGTH); }

}  // namespace faceserve
