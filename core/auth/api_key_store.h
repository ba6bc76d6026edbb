// ApiKeyStore: where keys made through the API are kept, beside the
// galleries (the SQLite file today; PostgreSQL when it lands). Only digests
// are stored. An implementation is durable: a call that returned OK is on
// disk.
#ifndef FACESERVE_CORE_AUTH_API_KEY_STORE_H_
#define FACESERVE_CORE_AUTH_API_KEY_STORE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/auth/api_key_record.h"

namespace faceserve {

class ApiKeyStore {
 public:
  virtual ~ApiKeyStore() = default;

  // Every key, oldest first.
  virtual absl::StatusOr<std::vector<ApiKeyRecord>> ListApiKeys() = 0;
  // Adds `key` (source kStore). ALREADY_EXISTS when its id is taken.
  virtual absl::Status AddApiKey(const ApiKeyRecord& key) = 0;
  // Removes the key, digest included. NOT_FOUND / API_KEY_NOT_FOUND when
  // there is none with that id.
  virtual absl::Status RemoveApiKey(const std::string& id) = 0;
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_AUTH_API_KEY_STORE_H_
