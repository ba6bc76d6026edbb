// ApiKeyServiceImpl: the faceserve.v1.ApiKeyService RPCs (issue 29) on
// gRPC's callback API, sharing FaceService's admission and key checks
// (server/call_admission.h): an admin key with every gallery manages keys.
// The work is AccessControl's (core/auth/access_control.h); a create or a
// revoke waits for its fsync on gRPC's callback thread.
//
// Ownership: nothing is owned; everything must outlive the gRPC server.
// Thread-safety: all methods are safe to call concurrently.
#ifndef FACESERVE_SERVER_API_KEY_SERVICE_H_
#define FACESERVE_SERVER_API_KEY_SERVICE_H_

#include "core/auth/access_control.h"
#include "faceserve/v1/api_key_service.grpc.pb.h"
#include "server/call_admission.h"

namespace faceserve {

class ApiKeyServiceImpl final : public v1::ApiKeyService::CallbackService {
 public:
  // `access` null: every call answers KEY_MANAGEMENT_UNAVAILABLE.
  ApiKeyServiceImpl(CallGate* gate, AccessControl* access) : gate_(gate), access_(access) {}

  grpc::ServerUnaryReactor* CreateApiKey(grpc::CallbackServerContext* context,
                                         const v1::CreateApiKeyRequest* request,
                                         v1::CreateApiKeyResponse* response) override;
  grpc::ServerUnaryReactor* RevokeApiKey(grpc::CallbackServerContext* context,
                                         const v1::RevokeApiKeyRequest* request,
                                         v1::RevokeApiKeyResponse* response) override;
  grpc::ServerUnaryReactor* ListApiKeys(grpc::CallbackServerContext* context,
                                        const v1::ListApiKeysRequest* request,
                                        v1::ListApiKeysResponse* response) override;

 private:
  CallGate* const gate_;
  AccessControl* const access_;
};

}  // namespace faceserve

#endif  // FACESERVE_SERVER_API_KEY_SERVICE_H_
