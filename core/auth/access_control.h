// AccessControl: who may call what (issue 29). It holds the API keys (from
// the key store and from auth.keys_file), says who a call's
// `authorization: Bearer <key>` header belongs to, whether that key may do
// what the call needs, and makes and revokes keys.
//
// With auth.required off (the default) every call is allowed, header or not,
// and keys cannot be managed: the server behaves as it did before keys.
//
// Keys take effect at once: a key made or revoked through this object is
// honoured or refused from the next call on; one made or revoked through
// another replica sharing the store, after at most store_poll. Keys in the file are re-read
// when the file changes (read every keys_file_poll); a file that cannot
// be read or parsed then keeps the keys read before, and says so in the log.
//
// Errors carry reasons (core/error_reason.h): UNAUTHENTICATED with
// API_KEY_MISSING or API_KEY_INVALID; PERMISSION_DENIED with
// SCOPE_NOT_GRANTED (metadata "scope") or GALLERY_NOT_GRANTED (metadata
// "gallery"). No message, log line or metadata ever holds a key or a digest.
//
// Thread-safety: every method is safe to call concurrently. The store (may
// be null: keys from the file only) is not owned and must outlive this.
#ifndef FACESERVE_CORE_AUTH_ACCESS_CONTROL_H_
#define FACESERVE_CORE_AUTH_ACCESS_CONTROL_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "core/auth/access_scope.h"
#include "core/auth/api_key_record.h"
#include "core/auth/api_key_store.h"

namespace faceserve {

struct AccessOptions {
  bool required = false;  // auth.required
  std::string keys_file;  // auth.keys_file; empty: none
  absl::Duration keys_file_poll = absl::Seconds(1);
  // Re-read the store's keys this often, for a store that other replicas
  // write too (PostgreSQL); zero: never (only this object writes it).
  absl::Duration store_poll = absl::ZeroDuration();
  std::function<void(const std::string&)> log;  // may be empty
};

// Who is calling: the key's record, or null when access control is off.
struct Caller {
  std::shared_ptr<const ApiKeyRecord> key;
};

class AccessControl {
 public:
  // Reads the store's keys and the keys file. Fails (naming the problem)
  // when either cannot be read.
  static absl::StatusOr<std::unique_ptr<AccessControl>> Create(AccessOptions options,
                                                               ApiKeyStore* store);
  ~AccessControl();
  AccessControl(const AccessControl&) = delete;
  AccessControl& operator=(const AccessControl&) = delete;

  bool required() const { return options_.required; }

  // The caller of a call whose authorization header is `authorization`
  // (nullopt: no such header).
  absl::StatusOr<Caller> Authenticate(std::optional<absl::string_view> authorization) const;
  // OK when `caller` may do what `need` asks.
  absl::Status Authorize(const Caller& caller, const AccessNeed& need) const;

  // A new key in the store: its record and the key, which is never seen
  // again. `galleries` may be empty (a key for FaceService alone).
  // INVALID_ARGUMENT / INVALID_FIELD (field name, scopes, galleries[i])
  // for a bad request; FAILED_PRECONDITION /
  // KEY_MANAGEMENT_UNAVAILABLE when auth is off or there is no store.
  struct CreatedKey {
    ApiKeyRecord record;
    std::string key;
  };
  absl::StatusOr<CreatedKey> CreateKey(const std::string& name, const std::vector<Scope>& scopes,
                                       const std::vector<std::string>& galleries);
  // Revokes a store key: refused from the next call on. NOT_FOUND /
  // API_KEY_NOT_FOUND; FAILED_PRECONDITION / KEY_MANAGEMENT_UNAVAILABLE for
  // a key of the file (edit the file) or when auth is off.
  absl::Status RevokeKey(const std::string& id);
  // Every key, the file's first, then the store's oldest first.
  std::vector<ApiKeyRecord> ListKeys() const;

  // Re-reads the keys file if its contents changed (a rename, a rewrite of
  // the same size within the same second and a Kubernetes secret's symlink
  // swap included); the poll thread calls it, tests may too.
  void ReloadKeysFileIfChanged();

 private:
  using KeyMap = std::map<std::string, std::shared_ptr<const ApiKeyRecord>>;

  AccessControl(AccessOptions options, ApiKeyStore* store)
      : options_(std::move(options)), store_(store) {}
  // At Create(): the store's keys, then the file's.
  absl::Status LoadStoreKeys();
  absl::Status LoadKeysFile();
  absl::Status ManagementAvailable() const;
  void Log(const std::string& line) const;
  // Re-reads the file when it changed and the store every store_poll.
  void Poll();

  const AccessOptions options_;
  ApiKeyStore* const store_;

  mutable absl::Mutex mu_;
  KeyMap file_keys_ ABSL_GUARDED_BY(mu_);
  KeyMap store_keys_ ABSL_GUARDED_BY(mu_);
  // Creates and revokes, one at a time (store first, then the maps).
  absl::Mutex manage_mu_ ABSL_ACQUIRED_BEFORE(mu_);

  // The keys file's text when last read; nullopt while it cannot be read.
  absl::Mutex file_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::optional<std::string> file_text_ ABSL_GUARDED_BY(file_mu_);

  absl::Notification stop_;
  std::thread poller_;
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_AUTH_ACCESS_CONTROL_H_
