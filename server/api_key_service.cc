#include "server/api_key_service.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/error_reason.h"
#include "core/invalid_field.h"

namespace faceserve {
namespace {

using Call = std::shared_ptr<ServerCall>;

struct CreateKeyCall {
  std::string name;
  std::vector<Scope> scopes;
  std::vector<std::string> galleries;
};


// The proto's SCOPE_X is core's scope "x" (api_key_service.proto and
// core/auth/access_scope.h list the same four).
std::optional<Scope> ScopeFromProto(int scope) {
  if (scope == v1::SCOPE_UNSPECIFIED || !v1::ApiKeyScope_IsValid(scope)) return std::nullopt;
  return ScopeFromName(
      absl::AsciiStrToLower(absl::StripPrefix(v1::ApiKeyScope_Name(scope), "SCOPE_")));
}

v1::ApiKeyScope ScopeToProto(Scope scope) {
  v1::ApiKeyScope out = v1::SCOPE_UNSPECIFIED;
  v1::ApiKeyScope_Parse(absl::StrCat("SCOPE_", absl::AsciiStrToUpper(ScopeName(scope))), &out);
  return out;
}

// Names, scopes and galleries are checked again by AccessControl; here only
// what the proto can get wrong on its own (an enum value that is no scope).
absl::StatusOr<CreateKeyCall> CreateKeyCallFromProto(const v1::CreateApiKeyRequest& request) {
  CreateKeyCall call;
  call.name = request.name();
  for (int i = 0; i < request.scopes_size(); ++i) {
    std::optional<Scope> scope = ScopeFromProto(request.scopes(i));
    if (!scope.has_value()) {
      return InvalidFieldError(absl::StrCat("scopes[", i, "]"),
                          "SCOPE_ANALYZE, SCOPE_IDENTIFY, SCOPE_ENROLL or SCOPE_ADMIN");
    }
    call.scopes.push_back(*scope);
  }
  call.galleries.assign(request.galleries().begin(), request.galleries().end());
  return call;
}

absl::StatusOr<std::string> RevokeIdFromProto(const v1::RevokeApiKeyRequest& request) {
  if (request.id().empty()) return InvalidFieldError("id", "required");
  return request.id();
}

absl::StatusOr<bool> NothingToParse(const v1::ListApiKeysRequest&) { return true; }

void ApiKeyToProto(const ApiKeyRecord& key, v1::ApiKey* out) {
  out->set_id(key.id);
  out->set_name(key.name);
  for (Scope s : key.scopes) out->add_scopes(ScopeToProto(s));
  for (const std::string& g : key.galleries) out->add_galleries(g);
  out->set_created_unix_ms(key.created_unix_ms);
  out->set_source(key.source == ApiKeyRecord::Source::kFile ? v1::ApiKey::SOURCE_KEYS_FILE
                                                            : v1::ApiKey::SOURCE_API);
}

absl::Status NoAccessControl() {
  return WithReason(absl::FailedPreconditionError(
                        "API keys are off on this server (auth.required is false)"),
                    ErrorReason::kKeyManagementUnavailable);
}

}  // namespace

grpc::ServerUnaryReactor* ApiKeyServiceImpl::CreateApiKey(grpc::CallbackServerContext* context,
                                                          const v1::CreateApiKeyRequest* request,
                                                          v1::CreateApiKeyResponse* response) {
  return StartCall(gate_, "CreateApiKey", context, *request, &CreateKeyCallFromProto,
                   [this, response](Call call, CreateKeyCall in) {
                     if (access_ == nullptr) return call->FinishWith(NoAccessControl());
                     absl::StatusOr<AccessControl::CreatedKey> created =
                         access_->CreateKey(in.name, in.scopes, in.galleries);
                     if (created.ok()) {
                       ApiKeyToProto(created->record, response->mutable_api_key());
                       response->set_key(created->key);
                     }
                     call->FinishWith(created.status());
                   });
}

grpc::ServerUnaryReactor* ApiKeyServiceImpl::RevokeApiKey(grpc::CallbackServerContext* context,
                                                          const v1::RevokeApiKeyRequest* request,
                                                          v1::RevokeApiKeyResponse*) {
  return StartCall(gate_, "RevokeApiKey", context, *request, &RevokeIdFromProto,
                   [this](Call call, std::string id) {
                     if (access_ == nullptr) return call->FinishWith(NoAccessControl());
                     call->FinishWith(access_->RevokeKey(id));
                   });
}

grpc::ServerUnaryReactor* ApiKeyServiceImpl::ListApiKeys(grpc::CallbackServerContext* context,
                                                         const v1::ListApiKeysRequest* request,
                                                         v1::ListApiKeysResponse* response) {
  return StartCall(gate_, "ListApiKeys", context, *request, &NothingToParse,
                   [this, response](Call call, bool) {
                     if (access_ == nullptr || !access_->required()) {
                       return call->FinishWith(NoAccessControl());
                     }
                     for (const ApiKeyRecord& key : access_->ListKeys()) {
                       ApiKeyToProto(key, response->add_api_keys());
                     }
                     call->FinishWith(absl::OkStatus());
                   });
}

}  // namespace faceserve
