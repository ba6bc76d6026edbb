#include "core/auth/access_control.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "core/auth/api_key.h"
#include "core/auth/api_keys_file.h"
#include "core/error_reason.h"
#include "core/invalid_field.h"

namespace faceserve {
namespace {

constexpr size_t kMaxNameBytes = 256;

absl::Status Unauthenticated(const std::string& message, ErrorReason reason) {
  return WithReason(absl::UnauthenticatedError(message), reason);
}

std::string ScopeList(const std::vector<Scope>& scopes) {
  std::vector<std::string> names;
  for (Scope s : scopes) names.emplace_back(ScopeName(s));
  return absl::StrJoin(names, ", ");
}

bool IsName(const std::string& s) {
  if (s.empty() || s.size() > kMaxNameBytes) return false;
  return std::none_of(s.begin(), s.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}


std::string KeysFileSource(const std::string& path) {
  return absl::StrCat("auth.keys_file '", path, "'");
}

absl::Status ManagementOff(const std::string& message) {
  return WithReason(absl::FailedPreconditionError(message),
                    ErrorReason::kKeyManagementUnavailable);
}

}  // namespace

absl::StatusOr<std::unique_ptr<AccessControl>> AccessControl::Create(AccessOptions options,
                                                                     ApiKeyStore* store) {
  std::unique_ptr<AccessControl> access(new AccessControl(std::move(options), store));
  if (absl::Status s = access->LoadStoreKeys(); !s.ok()) return s;
  if (absl::Status s = access->LoadKeysFile(); !s.ok()) return s;
  if (!access->options_.keys_file.empty() ||
      (store != nullptr && access->options_.store_poll > absl::ZeroDuration())) {
    access->poller_ = std::thread([raw = access.get()] { raw->Poll(); });
  }
  return access;
}

absl::Status AccessControl::LoadStoreKeys() {
  if (store_ == nullptr) return absl::OkStatus();
  // Not while a key is made or revoked: a list read before its store write
  // would drop it from the map until the next read.
  absl::MutexLock manage(&manage_mu_);
  absl::StatusOr<std::vector<ApiKeyRecord>> stored = store_->ListApiKeys();
  if (!stored.ok()) return stored.status();
  KeyMap keys;
  for (ApiKeyRecord& key : *stored) {
    const std::string id = key.id;
    keys[id] = std::make_shared<const ApiKeyRecord>(std::move(key));
  }
  absl::MutexLock lock(&mu_);
  store_keys_.swap(keys);
  return absl::OkStatus();
}

absl::Status AccessControl::LoadKeysFile() {
  if (options_.keys_file.empty()) return absl::OkStatus();
  absl::MutexLock file_lock(&file_mu_);
  absl::StatusOr<std::string> text = ReadApiKeysFileText(options_.keys_file);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::vector<ApiKeyRecord>> listed =
      ParseApiKeysFile(*text, KeysFileSource(options_.keys_file));
  if (!listed.ok()) return listed.status();
  file_text_ = *std::move(text);
  absl::MutexLock lock(&mu_);
  for (ApiKeyRecord& key : *listed) {
    const std::string id = key.id;
    file_keys_[id] = std::make_shared<const ApiKeyRecord>(std::move(key));
  }
  return absl::OkStatus();
}

AccessControl::~AccessControl() {
  stop_.Notify();
  if (poller_.joinable()) poller_.join();
}

void AccessControl::Log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

absl::StatusOr<Caller> AccessControl::Authenticate(
    std::optional<absl::string_view> authorization) const {
  if (!options_.required) return Caller{};
  if (!authorization.has_value() || authorization->empty()) {
    return Unauthenticated(
        "this server requires an API key: send the metadata 'authorization: Bearer <key>'",
        ErrorReason::kApiKeyMissing);
  }
  // RFC 6750: the scheme is case-insensitive.
  constexpr absl::string_view kScheme = "bearer ";
  if (!absl::StartsWithIgnoreCase(*authorization, kScheme)) {
    return Unauthenticated("authorization: expected 'Bearer <key>'", ErrorReason::kApiKeyInvalid);
  }
  const absl::string_view presented = authorization->substr(kScheme.size());
  const absl::StatusOr<std::string> id = ApiKeyIdOf(presented);
  // The digest is computed whatever the outcome, so that a malformed or
  // unknown key takes as long as a wrong secret.
  const std::string digest = Sha256Hex(presented);
  std::shared_ptr<const ApiKeyRecord> key;
  if (id.ok()) {
    absl::ReaderMutexLock lock(&mu_);
    auto it = file_keys_.find(*id);
    if (it != file_keys_.end()) {
      key = it->second;
    } else if (auto stored = store_keys_.find(*id); stored != store_keys_.end()) {
      key = stored->second;
    }
  }
  const std::string unknown(digest.size(), '0');
  const bool same = SameDigest(digest, key != nullptr ? key->sha256_hex : unknown);
  if (key == nullptr || !same) {
    return Unauthenticated("API key not recognised (malformed, unknown or revoked)",
                           ErrorReason::kApiKeyInvalid);
  }
  return Caller{std::move(key)};
}

absl::Status AccessControl::Authorize(const Caller& caller, const AccessNeed& need) const {
  if (caller.key == nullptr) {
    // Access control off, or a caller that did not authenticate.
    if (!options_.required) return absl::OkStatus();
    return Unauthenticated("this server requires an API key", ErrorReason::kApiKeyMissing);
  }
  const ApiKeyRecord& key = *caller.key;
  if (!need.any_of.empty() &&
      std::none_of(need.any_of.begin(), need.any_of.end(),
                   [&](Scope s) { return key.Holds(s); })) {
    const std::string needed = ScopeList(need.any_of);
    return WithReason(
        absl::PermissionDeniedError(absl::StrCat("API key '", key.name, "' lacks the scope ",
                                                 needed, " (it holds ", ScopeList(key.scopes),
                                                 ")")),
        ErrorReason::kScopeNotGranted, {{"scope", needed}});
  }
  if (need.all_galleries && !key.GrantsAllGalleries()) {
    return WithReason(absl::PermissionDeniedError(absl::StrCat(
                          "API key '", key.name,
                          "' is not granted every gallery (\"*\"), which this call needs")),
                      ErrorReason::kGalleryNotGranted, {{"gallery", kAllGalleries}});
  }
  if (!need.gallery.empty() && !key.Grants(need.gallery)) {
    return WithReason(absl::PermissionDeniedError(absl::StrCat(
                          "API key '", key.name, "' is not granted gallery '", need.gallery, "'")),
                      ErrorReason::kGalleryNotGranted, {{"gallery", need.gallery}});
  }
  return absl::OkStatus();
}

absl::Status AccessControl::ManagementAvailable() const {
  if (!options_.required) {
    return ManagementOff(
        "API keys are off (auth.required is false): keys would not be checked. Turn them on "
        "with an admin key in auth.keys_file (facectl api-key generate)");
  }
  if (store_ == nullptr) {
    return ManagementOff(
        "no key store (gallery.backend is none): keys come from auth.keys_file alone");
  }
  return absl::OkStatus();
}

absl::StatusOr<AccessControl::CreatedKey> AccessControl::CreateKey(
    const std::string& name, const std::vector<Scope>& scopes,
    const std::vector<std::string>& galleries) {
  if (absl::Status s = ManagementAvailable(); !s.ok()) return s;
  if (!IsName(name)) return InvalidFieldError("name", "1 to 256 bytes with no control characters");
  if (scopes.empty()) return InvalidFieldError("scopes", "at least one scope is required");
  for (size_t i = 0; i < galleries.size(); ++i) {
    if (!IsName(galleries[i])) {
      return InvalidFieldError(absl::StrCat("galleries[", i, "]"),
                          "1 to 256 bytes with no control characters");
    }
  }
  absl::MutexLock manage(&manage_mu_);
  absl::StatusOr<GeneratedApiKey> generated = GenerateApiKey();
  if (!generated.ok()) return generated.status();
  ApiKeyRecord record;
  record.id = generated->id;
  record.name = name;
  record.sha256_hex = generated->sha256_hex;
  for (Scope s : AllScopes()) {  // each once, in the canonical order
    if (std::find(scopes.begin(), scopes.end(), s) != scopes.end()) record.scopes.push_back(s);
  }
  record.galleries = galleries;
  std::sort(record.galleries.begin(), record.galleries.end());
  record.galleries.erase(std::unique(record.galleries.begin(), record.galleries.end()),
                         record.galleries.end());
  record.created_unix_ms = absl::ToUnixMillis(absl::Now());
  record.source = ApiKeyRecord::Source::kStore;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (file_keys_.count(record.id) != 0 || store_keys_.count(record.id) != 0) {
      // 64 random bits colliding: worth an error, not a retry loop.
      return absl::InternalError("a new API key's id collided with an existing one; try again");
    }
  }
  if (absl::Status s = store_->AddApiKey(record); !s.ok()) return s;
  {
    absl::MutexLock lock(&mu_);
    store_keys_[record.id] = std::make_shared<const ApiKeyRecord>(record);
  }
  Log(absl::StrCat("API key ", record.id, " '", record.name, "' created (scopes ",
                   ScopeList(record.scopes), ")"));
  return CreatedKey{std::move(record), generated->key};
}

absl::Status AccessControl::RevokeKey(const std::string& id) {
  if (absl::Status s = ManagementAvailable(); !s.ok()) return s;
  absl::MutexLock manage(&manage_mu_);
  {
    absl::ReaderMutexLock lock(&mu_);
    if (file_keys_.count(id) != 0) {
      return ManagementOff(absl::StrCat("API key ", id, " comes from auth.keys_file (",
                                        options_.keys_file,
                                        "): remove its entry there to revoke it"));
    }
  }
  if (absl::Status s = store_->RemoveApiKey(id); !s.ok()) return s;
  {
    absl::MutexLock lock(&mu_);
    store_keys_.erase(id);
  }
  Log(absl::StrCat("API key ", id, " revoked"));
  return absl::OkStatus();
}

std::vector<ApiKeyRecord> AccessControl::ListKeys() const {
  std::vector<ApiKeyRecord> keys;
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [id, key] : file_keys_) keys.push_back(*key);
  const size_t from = keys.size();
  for (const auto& [id, key] : store_keys_) keys.push_back(*key);
  std::stable_sort(keys.begin() + static_cast<std::ptrdiff_t>(from), keys.end(),
                   [](const ApiKeyRecord& a, const ApiKeyRecord& b) {
                     return a.created_unix_ms < b.created_unix_ms;
                   });
  return keys;
}

void AccessControl::ReloadKeysFileIfChanged() {
  if (options_.keys_file.empty()) return;
  absl::MutexLock file_lock(&file_mu_);
  absl::StatusOr<std::string> text = ReadApiKeysFileText(options_.keys_file);
  if (!text.ok()) {
    if (file_text_.has_value()) {
      Log(absl::StrCat(text.status().message(), "; keeping the keys read before"));
      file_text_.reset();
    }
    return;
  }
  if (file_text_.has_value() && *file_text_ == *text) return;
  file_text_ = *text;
  absl::StatusOr<std::vector<ApiKeyRecord>> listed =
      ParseApiKeysFile(*text, KeysFileSource(options_.keys_file));
  if (!listed.ok()) {
    Log(absl::StrCat(listed.status().message(), "; keeping the keys read before"));
    return;
  }
  KeyMap keys;
  for (ApiKeyRecord& key : *listed) {
    const std::string id = key.id;
    keys[id] = std::make_shared<const ApiKeyRecord>(std::move(key));
  }
  const size_t count = keys.size();
  {
    absl::MutexLock lock(&mu_);
    file_keys_.swap(keys);
  }
  Log(absl::StrCat("auth.keys_file re-read: ", count, " key(s)"));
}

void AccessControl::Poll() {
  const bool poll_store = store_ != nullptr && options_.store_poll > absl::ZeroDuration();
  absl::Duration every = options_.keys_file.empty() ? options_.store_poll : options_.keys_file_poll;
  if (poll_store) every = std::min(every, options_.store_poll);
  absl::Time store_read = absl::Now();
  bool store_readable = true;
  while (!stop_.WaitForNotificationWithTimeout(every)) {
    ReloadKeysFileIfChanged();
    if (!poll_store || absl::Now() - store_read < options_.store_poll) continue;
    store_read = absl::Now();
    // Unreadable (the database away): the keys read before stay valid.
    const absl::Status s = LoadStoreKeys();
    if (s.ok() != store_readable) {
      Log(s.ok() ? std::string("API keys re-read from the store")
                 : absl::StrCat("cannot re-read the API keys (", s.message(),
                                "); keeping the keys read before"));
      store_readable = s.ok();
    }
  }
}

}  // namespace faceserve
