// facectl api-key generate|create|list|revoke: API keys (issue 29).
// generate works offline on a keys file (the server's auth.keys_file);
// the others call ApiKeyService with an admin key.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_split.h"
#include "client/commands.h"
#include "client/json_output.h"
#include "core/auth/api_key.h"
#include "core/auth/api_keys_file.h"
#include "faceserve/v1/api_key_service.grpc.pb.h"
#include "proto/rpc_status.h"

namespace faceserve::client {
namespace {

namespace v1 = faceserve::v1;

std::vector<std::string> CommaList(const std::string& text) {
  return absl::StrSplit(text, ',', absl::SkipEmpty());
}

// --scopes a,b: the proto's SCOPE_A, SCOPE_B.
absl::StatusOr<std::vector<v1::ApiKeyScope>> ScopesFlag(const ParsedArgs& args) {
  std::vector<v1::ApiKeyScope> scopes;
  for (const std::string& name : CommaList(args.Get("scopes"))) {
    v1::ApiKeyScope scope = v1::SCOPE_UNSPECIFIED;
    if (!v1::ApiKeyScope_Parse(absl::StrCat("SCOPE_", absl::AsciiStrToUpper(name)), &scope) ||
        scope == v1::SCOPE_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          absl::StrCat("--scopes: unknown scope '", name, "' (analyze, identify, enroll, admin)"));
    }
    scopes.push_back(scope);
  }
  if (scopes.empty()) return absl::InvalidArgumentError("--scopes is required (e.g. --scopes identify)");
  return scopes;
}

std::string ScopeName(int scope) {
  return absl::AsciiStrToLower(absl::StripPrefix(v1::ApiKeyScope_Name(scope), "SCOPE_"));
}

Json ApiKeyToJson(const v1::ApiKey& key) {
  Json j;
  j["id"] = key.id();
  j["name"] = key.name();
  j["scopes"] = Json::array();
  for (int s : key.scopes()) j["scopes"].push_back(ScopeName(s));
  j["galleries"] = Json::array();
  for (const std::string& g : key.galleries()) j["galleries"].push_back(g);
  j["source"] = key.source() == v1::ApiKey::SOURCE_KEYS_FILE ? "keys_file" : "api";
  if (key.created_unix_ms() != 0) j["created_unix_ms"] = key.created_unix_ms();
  return j;
}

// Appends `entry` to `path`, creating it (and its folder) readable by its
// owner alone.
absl::Status AppendToKeysFile(const std::string& path, const std::string& entry) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code error;
  if (!parent.empty()) std::filesystem::create_directories(parent, error);
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::NotFoundError(absl::StrCat("--keys-file: cannot open '", path, "': ",
                                            std::strerror(errno)));
  }
  size_t done = 0;
  while (done < entry.size()) {
    const ssize_t n = write(fd, entry.data() + done, entry.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return absl::InternalError(absl::StrCat("--keys-file: cannot write '", path, "'"));
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = fsync(fd) == 0;
  close(fd);
  if (!synced) return absl::InternalError(absl::StrCat("--keys-file: cannot sync '", path, "'"));
  return absl::OkStatus();
}

int Generate(const CommandContext& ctx, const ParsedArgs& args) {
  const std::string path = args.Get("keys-file");
  if (path.empty()) return ctx.UsageError("generate needs --keys-file FILE");
  const std::string name = args.Get("name");
  if (name.empty()) return ctx.UsageError("generate needs --name NAME");
  absl::StatusOr<std::vector<v1::ApiKeyScope>> scopes = ScopesFlag(args);
  if (!scopes.ok()) return ctx.UsageError(scopes.status().message());
  // The file as it is must parse, so that the appended entry keeps it valid.
  if (access(path.c_str(), F_OK) == 0) {
    if (absl::StatusOr<std::vector<ApiKeyRecord>> existing = ReadApiKeysFile(path); !existing.ok()) {
      return ctx.Fail(existing.status());
    }
  }
  absl::StatusOr<GeneratedApiKey> key = GenerateApiKey();
  if (!key.ok()) return ctx.Fail(key.status());
  ApiKeyRecord record;
  record.id = key->id;
  record.name = name;
  record.sha256_hex = key->sha256_hex;
  for (v1::ApiKeyScope s : *scopes) record.scopes.push_back(*faceserve::ScopeFromName(ScopeName(s)));
  record.galleries = CommaList(args.Get("galleries"));
  if (absl::Status s = AppendToKeysFile(path, FormatApiKeysFileEntry(record)); !s.ok()) {
    return ctx.Fail(s);
  }
  *ctx.out << key->key << std::endl;
  *ctx.err << "key " << key->id << " '" << name << "' added to " << path
           << " (its digest only); the key above is not kept anywhere" << std::endl;
  return 0;
}

template <typename Method, typename Request, typename Response>
grpc::Status Call(const CommandContext& ctx, Method method, const Request& request,
                  Response* response) {
  return CallUnary<v1::ApiKeyService>(ctx.connection, method, request, response);
}

}  // namespace

int RunApiKeyCommand(const CommandContext& ctx, const ParsedArgs& args) {
  if (args.positional.empty()) {
    return ctx.UsageError("api-key needs a verb: generate, create, list, revoke");
  }
  const std::string& verb = args.positional[0];
  if (verb == "generate") return Generate(ctx, args);
  if (verb == "create") {
    const std::string name = args.Get("name");
    if (name.empty()) return ctx.UsageError("create needs --name NAME");
    absl::StatusOr<std::vector<v1::ApiKeyScope>> scopes = ScopesFlag(args);
    if (!scopes.ok()) return ctx.UsageError(scopes.status().message());
    v1::CreateApiKeyRequest request;
    request.set_name(name);
    for (v1::ApiKeyScope s : *scopes) request.add_scopes(s);
    for (const std::string& g : CommaList(args.Get("galleries"))) request.add_galleries(g);
    v1::CreateApiKeyResponse response;
    grpc::Status s = Call(ctx, &v1::ApiKeyService::Stub::CreateApiKey, request, &response);
    if (!s.ok()) return ctx.Fail(FromGrpcStatus(s));
    Json j = ApiKeyToJson(response.api_key());
    j["key"] = response.key();
    *ctx.out << ToJsonLine(j) << std::endl;
    return 0;
  }
  if (verb == "list") {
    v1::ListApiKeysResponse response;
    grpc::Status s =
        Call(ctx, &v1::ApiKeyService::Stub::ListApiKeys, v1::ListApiKeysRequest(), &response);
    if (!s.ok()) return ctx.Fail(FromGrpcStatus(s));
    for (const v1::ApiKey& key : response.api_keys()) *ctx.out << ToJsonLine(ApiKeyToJson(key)) << "\n";
    ctx.out->flush();
    return 0;
  }
  if (verb == "revoke") {
    if (args.positional.size() != 2) return ctx.UsageError("revoke needs one key id");
    v1::RevokeApiKeyRequest request;
    request.set_id(args.positional[1]);
    v1::RevokeApiKeyResponse response;
    grpc::Status s = Call(ctx, &v1::ApiKeyService::Stub::RevokeApiKey, request, &response);
    if (!s.ok()) return ctx.Fail(FromGrpcStatus(s));
    *ctx.out << ToJsonLine(Json{{"revoked", args.positional[1]}}) << std::endl;
    return 0;
  }
  return ctx.UsageError(absl::StrCat("unknown api-key verb '", verb, "'"));
}

}  // namespace faceserve::client
