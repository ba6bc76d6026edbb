// API keys on the real faceserve process (issue 29): real models on CPU,
// gRPC over loopback, a real SQLite file and a real keys file.
//
//  * every refusal, with its code and ErrorInfo reason, for each kind of
//    call (analyze, identify, enroll, admin, key management);
//  * ListGalleries shows a key its galleries alone;
//  * a revoked key is refused on the next call; two keys valid at once
//    (rotation); keys made through the API survive a restart;
//  * keys added to and removed from the keys file apply without a restart;
//  * facectl's --api-key and FACESERVE_API_KEY;
//  * refusals counted by reason in /metrics, and no key or digest in the
//    server's log or its metrics;
//  * without auth.required the server behaves as before.
//
// Needs the faceserve binary and the exported models (label "models").
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <httplib.h>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/facectl.h"
#include "core/auth/api_key.h"
#include "core/error_reason.h"
#include "faceserve/v1/api_key_service.grpc.pb.h"
#include "faceserve/v1/face_service.grpc.pb.h"
#include "faceserve/v1/gallery_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/rpc_status.h"
#include "tests/server/test_harness.h"
#include "tests/testing/http_get.h"
#include "tests/testing/server_process.h"

namespace faceserve {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kSourceDir = FACESERVE_SOURCE_DIR;
const std::string kPhoto =
    kSourceDir + "/models/reference/node_modules/@vladmandic/face-api/demo/sample1.jpg";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// facectl in process: {exit code, stdout, stderr}.
struct CliRun {
  int code;
  std::string out, err;
};
CliRun Facectl(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int code = client::RunFacectl(args, out, err);
  return {code, out.str(), err.str()};
}

// A faceserve with API keys required (or not), on its own gallery file.
class Server {
 public:
  Server(const std::string& db, const std::string& keys_file, bool required = true) {
    std::vector<std::string> args = {
        FACESERVE_BINARY, "--config", kSourceDir + "/config/default.yaml", "--set",
        "server.listen=127.0.0.1:0", "--set", "metrics.listen=127.0.0.1:0", "--set",
        "device.preheat=false", "--set", "models_dir=" + kSourceDir + "/models/exported", "--set",
        "gallery.sqlite.path=" + db, "--set", absl::StrCat("auth.required=", required ? "true" : "false"), "--set",
        "auth.keys_file_poll_ms=50", "--set", "http.listen=127.0.0.1:0"};
    if (!keys_file.empty()) {
      args.push_back("--set");
      args.push_back("auth.keys_file=" + keys_file);
    }
    process_ = std::make_unique<testing::ServerProcess>(args);
    const int port = process_->WaitForPort(absl::Seconds(120));
    metrics_port_ = process_->WaitForMetricsPort(absl::Seconds(5));
    http_port_ = process_->WaitForLogNumber(std::regex("HTTP API on \\S+ \\(port (\\d+)"),
                                            absl::Seconds(5));
    if (port == 0) return;
    address_ = absl::StrCat("127.0.0.1:", port);
    channel_ = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
    // Health needs no key.
    testing::WaitUntil([&] { return testing::HealthCheck(channel_, "") == testing::kServing; },
                       absl::Seconds(120));
    faces = v1::FaceService::NewStub(channel_);
    galleries = v1::GalleryService::NewStub(channel_);
    keys = v1::ApiKeyService::NewStub(channel_);
  }
  bool ok() const { return keys != nullptr; }
  const std::string& address() const { return address_; }
  std::string log() { return process_->log(); }
  std::string Metrics() {
    absl::StatusOr<testing::HttpResponse> r = testing::HttpGet("127.0.0.1", metrics_port_, "/metrics");
    return r.ok() ? r->body : "";
  }
  int http_port() const { return http_port_; }
  void Stop() {
    kill(process_->pid(), SIGTERM);
    EXPECT_TRUE(process_->Exited(absl::Seconds(60)));
  }

  std::unique_ptr<v1::FaceService::Stub> faces;
  std::unique_ptr<v1::GalleryService::Stub> galleries;
  std::unique_ptr<v1::ApiKeyService::Stub> keys;

 private:
  std::unique_ptr<testing::ServerProcess> process_;
  std::string address_;
  int metrics_port_ = 0;
  int http_port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

// One unary call with `authorization` metadata (none when empty).
template <typename Stub, typename Method, typename Request, typename Response>
absl::Status Call(Stub& stub, Method method, const std::string& authorization,
                  const Request& request, Response* response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  if (!authorization.empty()) context.AddMetadata("authorization", authorization);
  return FromGrpcStatus((stub.*method)(&context, request, response));
}

// "OK", or "<CODE> <REASON>".
std::string Outcome(const absl::Status& s) {
  if (s.ok()) return "OK";
  return absl::StrCat(absl::StatusCodeToString(s.code()), " ", ReasonNameOf(s));
}

std::string Bearer(const std::string& key) { return "Bearer " + key; }

class FaceserveApiKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kPhoto)) GTEST_SKIP() << "needs " << kPhoto << " (scripts/bootstrap.sh)";
    dir_ = fs::temp_directory_path() /
           absl::StrCat("faceserve_api_keys_", getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    db_ = (dir_ / "g.sqlite").string();
    keys_file_ = (dir_ / "keys.yaml").string();
    // The first admin key, the way an operator makes it.
    CliRun made = Facectl({"api-key", "generate", "--keys-file", keys_file_, "--name", "root",
                        "--scopes", "admin", "--galleries", "*"});
    ASSERT_EQ(made.code, 0) << made.err;
    root_ = std::string(absl::StripAsciiWhitespace(made.out));
    ASSERT_TRUE(ApiKeyIdOf(root_).ok()) << made.out;
    secrets_.push_back(root_);
  }
  void TearDown() override {
    unsetenv("FACESERVE_API_KEY");
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // A key made through the API by root.
  std::string CreateKey(Server& server, const std::string& name, std::vector<v1::ApiKeyScope> scopes,
                        std::vector<std::string> galleries, std::string* id = nullptr) {
    v1::CreateApiKeyRequest request;
    request.set_name(name);
    for (v1::ApiKeyScope s : scopes) request.add_scopes(s);
    for (const std::string& g : galleries) request.add_galleries(g);
    v1::CreateApiKeyResponse response;
    absl::Status s = Call(*server.keys, &v1::ApiKeyService::Stub::CreateApiKey, Bearer(root_),
                          request, &response);
    EXPECT_TRUE(s.ok()) << s;
    if (id != nullptr) *id = response.api_key().id();
    secrets_.push_back(response.key());
    return response.key();
  }

  v1::AnalyzeRequest AnalyzeRequest(const std::string& identify_gallery = "") {
    v1::AnalyzeRequest r;
    r.mutable_image()->set_encoded(ReadFile(kPhoto));
    r.mutable_options()->add_predictors("landmarks");
    if (!identify_gallery.empty()) {
      r.mutable_options()->mutable_identify()->set_gallery(identify_gallery);
    }
    return r;
  }

  std::string Analyze(Server& server, const std::string& authorization,
                      const std::string& identify_gallery = "") {
    v1::AnalyzeResponse response;
    return Outcome(Call(*server.faces, &v1::FaceService::Stub::Analyze, authorization,
                        AnalyzeRequest(identify_gallery), &response));
  }

  fs::path dir_;
  std::string db_, keys_file_, root_;
  std::vector<std::string> secrets_;  // every key handed out, for the leak checks
};

TEST_F(FaceserveApiKeysTest, EveryRefusalHasItsCodeAndReason) {
  Server server(db_, keys_file_);
  ASSERT_TRUE(server.ok()) << server.log();
  for (const char* g : {"staff", "visitors"}) {
    v1::CreateGalleryRequest create;
    create.set_name(g);
    v1::Gallery gallery;
    ASSERT_EQ(Outcome(Call(*server.galleries, &v1::GalleryService::Stub::CreateGallery,
                           Bearer(root_), create, &gallery)),
              "OK");
  }
  const std::string ident = CreateKey(server, "ident", {v1::SCOPE_IDENTIFY}, {"staff"});
  const std::string clerk = CreateKey(server, "clerk", {v1::SCOPE_ENROLL}, {"staff"});
  const std::string cam = CreateKey(server, "cam", {v1::SCOPE_ANALYZE}, {});
  const std::string staff_admin = CreateKey(server, "staff-admin", {v1::SCOPE_ADMIN}, {"staff"});

  // Who: no key, not a bearer, not a key, an unknown key.
  EXPECT_EQ(Analyze(server, ""), "UNAUTHENTICATED API_KEY_MISSING");
  EXPECT_EQ(Analyze(server, root_), "UNAUTHENTICATED API_KEY_INVALID");
  EXPECT_EQ(Analyze(server, "Basic " + root_), "UNAUTHENTICATED API_KEY_INVALID");
  EXPECT_EQ(Analyze(server, Bearer("fsk_not_a_key")), "UNAUTHENTICATED API_KEY_INVALID");
  EXPECT_EQ(Analyze(server, Bearer(GenerateApiKey()->key)), "UNAUTHENTICATED API_KEY_INVALID");

  // Analyze: the analyze scope; with identification, identify on that gallery.
  EXPECT_EQ(Analyze(server, Bearer(cam)), "OK");
  EXPECT_EQ(Analyze(server, Bearer(ident)), "PERMISSION_DENIED SCOPE_NOT_GRANTED");
  EXPECT_EQ(Analyze(server, Bearer(ident), "staff"), "OK");
  EXPECT_EQ(Analyze(server, Bearer(ident), "visitors"), "PERMISSION_DENIED GALLERY_NOT_GRANTED");
  EXPECT_EQ(Analyze(server, Bearer(cam), "staff"), "PERMISSION_DENIED SCOPE_NOT_GRANTED");

  // Enroll: the enroll scope on that gallery.
  v1::EnrollRequest enroll;
  enroll.set_gallery("staff");
  enroll.set_subject("alice");
  v1::Embedding* e = enroll.add_inputs()->mutable_embedding();
  for (int i = 0; i < 128; ++i) e->add_values(i == 0 ? 1.0f : 0.0f);
  v1::EnrollResponse enrolled;
  auto enroll_as = [&](const std::string& key, const std::string& gallery) {
    enroll.set_gallery(gallery);
    return Outcome(
        Call(*server.galleries, &v1::GalleryService::Stub::Enroll, Bearer(key), enroll, &enrolled));
  };
  EXPECT_EQ(enroll_as(clerk, "staff"), "OK");
  EXPECT_EQ(enroll_as(clerk, "visitors"), "PERMISSION_DENIED GALLERY_NOT_GRANTED");
  EXPECT_EQ(enroll_as(ident, "staff"), "PERMISSION_DENIED SCOPE_NOT_GRANTED");
  EXPECT_EQ(enroll_as(cam, "staff"), "PERMISSION_DENIED SCOPE_NOT_GRANTED");

  // Search and reading subjects: identify (or enroll for reading).
  v1::SearchRequest search;
  search.mutable_options()->set_gallery("staff");
  *search.add_queries() = *e;
  v1::SearchResponse found;
  EXPECT_EQ(Outcome(Call(*server.galleries, &v1::GalleryService::Stub::Search, Bearer(ident),
                         search, &found)),
            "OK");
  ASSERT_EQ(found.results_size(), 1);
  EXPECT_EQ(Outcome(Call(*server.galleries, &v1::GalleryService::Stub::Search, Bearer(clerk),
                         search, &found)),
            "PERMISSION_DENIED SCOPE_NOT_GRANTED");
  v1::GetSubjectRequest get;
  get.set_gallery("staff");
  get.set_subject("alice");
  v1::Subject subject;
  for (const std::string& key : {ident, clerk}) {
    EXPECT_EQ(Outcome(Call(*server.galleries, &v1::GalleryService::Stub::GetSubject, Bearer(key),
                           get, &subject)),
              "OK");
  }
  EXPECT_EQ(Outcome(Call(*server.galleries, &v1::GalleryService::Stub::GetSubject, Bearer(cam),
                         get, &subject)),
            "PERMISSION_DENIED SCOPE_NOT_GRANTED");
  v1::DeleteSubjectRequest remove;
  remove.set_gallery("visitors");
  remove.set_subject("alice");
  v1::DeleteSubjectResponse removed;
  EXPECT_EQ(Outcome(Call(*server.galleries, &v1::GalleryService::Stub::DeleteSubject,
                         Bearer(clerk), remove, &removed)),
            "PERMISSION_DENIED GALLERY_NOT_GRANTED");

  // Galleries: admin on that gallery; a listing shows a key its own.
  v1::DeleteGalleryRequest drop;
  drop.set_name("visitors");
  v1::DeleteGalleryResponse dropped;
  EXPECT_EQ(Outcome(Call(*server.galleries, &v1::GalleryService::Stub::DeleteGallery,
                         Bearer(staff_admin), drop, &dropped)),
            "PERMISSION_DENIED GALLERY_NOT_GRANTED");
  EXPECT_EQ(Outcome(Call(*server.galleries, &v1::GalleryService::Stub::DeleteGallery,
                         Bearer(clerk), drop, &dropped)),
            "PERMISSION_DENIED SCOPE_NOT_GRANTED");
  auto listed = [&](const std::string& key) {
    v1::ListGalleriesResponse all;
    absl::Status s = Call(*server.galleries, &v1::GalleryService::Stub::ListGalleries, Bearer(key),
                          v1::ListGalleriesRequest(), &all);
    std::vector<std::string> names;
    for (const v1::Gallery& g : all.galleries()) names.push_back(g.name());
    return s.ok() ? absl::StrJoin(names, ",") : Outcome(s);
  };
  EXPECT_EQ(listed(root_), "staff,visitors");
  EXPECT_EQ(listed(ident), "staff");
  EXPECT_EQ(listed(cam), "");

  // Key management: admin with every gallery.
  v1::ListApiKeysResponse all_keys;
  EXPECT_EQ(Outcome(Call(*server.keys, &v1::ApiKeyService::Stub::ListApiKeys, Bearer(staff_admin),
                         v1::ListApiKeysRequest(), &all_keys)),
            "PERMISSION_DENIED GALLERY_NOT_GRANTED");
  EXPECT_EQ(Outcome(Call(*server.keys, &v1::ApiKeyService::Stub::ListApiKeys, Bearer(ident),
                         v1::ListApiKeysRequest(), &all_keys)),
            "PERMISSION_DENIED SCOPE_NOT_GRANTED");
  ASSERT_EQ(Outcome(Call(*server.keys, &v1::ApiKeyService::Stub::ListApiKeys, Bearer(root_),
                         v1::ListApiKeysRequest(), &all_keys)),
            "OK");
  ASSERT_EQ(all_keys.api_keys_size(), 5);
  EXPECT_EQ(all_keys.api_keys(0).name(), "root");
  EXPECT_EQ(all_keys.api_keys(0).source(), v1::ApiKey::SOURCE_KEYS_FILE);
  EXPECT_EQ(all_keys.api_keys(1).name(), "ident");
  v1::RevokeApiKeyRequest revoke_root;
  revoke_root.set_id(*ApiKeyIdOf(root_));
  v1::RevokeApiKeyResponse revoked;
  EXPECT_EQ(Outcome(Call(*server.keys, &v1::ApiKeyService::Stub::RevokeApiKey, Bearer(root_),
                         revoke_root, &revoked)),
            "FAILED_PRECONDITION KEY_MANAGEMENT_UNAVAILABLE");
  v1::RevokeApiKeyRequest revoke_unknown;
  revoke_unknown.set_id("0000000000000000");
  EXPECT_EQ(Outcome(Call(*server.keys, &v1::ApiKeyService::Stub::RevokeApiKey, Bearer(root_),
                         revoke_unknown, &revoked)),
            "NOT_FOUND API_KEY_NOT_FOUND");
  v1::CreateApiKeyRequest no_scope;
  no_scope.set_name("x");
  v1::CreateApiKeyResponse created;
  EXPECT_EQ(Outcome(Call(*server.keys, &v1::ApiKeyService::Stub::CreateApiKey, Bearer(root_),
                         no_scope, &created)),
            "INVALID_ARGUMENT INVALID_FIELD");
  no_scope.add_scopes(v1::SCOPE_UNSPECIFIED);
  absl::Status unspecified = Call(*server.keys, &v1::ApiKeyService::Stub::CreateApiKey,
                                  Bearer(root_), no_scope, &created);
  EXPECT_EQ(Outcome(unspecified), "INVALID_ARGUMENT INVALID_FIELD");
  EXPECT_EQ(MetadataOf(unspecified)["field"], "scopes[0]");

  // The refusals by reason in /metrics (never by key), and no key or digest
  // in the log or the metrics.
  const std::string metrics = server.Metrics();
  ASSERT_THAT(metrics, HasSubstr("faceserve_access_refusals_total"));
  for (const char* reason :
       {"API_KEY_MISSING", "API_KEY_INVALID", "SCOPE_NOT_GRANTED", "GALLERY_NOT_GRANTED"}) {
    EXPECT_THAT(metrics, HasSubstr(absl::StrCat("faceserve_access_refusals_total{reason=\"",
                                                reason, "\"}")));
    EXPECT_THAT(metrics, Not(HasSubstr(absl::StrCat("faceserve_access_refusals_total{reason=\"",
                                                    reason, "\"} 0"))));
  }
  const std::string log = server.log();
  for (const std::string& key : secrets_) {
    const std::string secret = key.substr(key.rfind('_') + 1);
    const std::string digest = Sha256Hex(key);
    for (const std::string* text : {&log, &metrics}) {
      EXPECT_THAT(*text, Not(HasSubstr(secret)));
      EXPECT_THAT(*text, Not(HasSubstr(digest)));
      EXPECT_THAT(*text, Not(HasSubstr(digest.substr(0, 16))));
    }
  }
}

TEST_F(FaceserveApiKeysTest, RevokedKeysFailOnTheNextCallAndKeysSurviveARestart) {
  auto server = std::make_unique<Server>(db_, keys_file_);
  ASSERT_TRUE(server->ok()) << server->log();
  std::string old_id, new_id;
  const std::string old_key = CreateKey(*server, "svc", {v1::SCOPE_ANALYZE}, {}, &old_id);
  EXPECT_EQ(Analyze(*server, Bearer(old_key)), "OK");
  // Rotation: the successor works while the old key still does.
  const std::string new_key = CreateKey(*server, "svc-2", {v1::SCOPE_ANALYZE}, {}, &new_id);
  EXPECT_EQ(Analyze(*server, Bearer(old_key)), "OK");
  EXPECT_EQ(Analyze(*server, Bearer(new_key)), "OK");
  // Revoked with facectl, root's key from the environment.
  setenv("FACESERVE_API_KEY", root_.c_str(), 1);
  CliRun revoked = Facectl({"--server", server->address(), "api-key", "revoke", old_id});
  ASSERT_EQ(revoked.code, 0) << revoked.err;
  EXPECT_EQ(Analyze(*server, Bearer(old_key)), "UNAUTHENTICATED API_KEY_INVALID");
  EXPECT_EQ(Analyze(*server, Bearer(new_key)), "OK");

  server->Stop();
  server = std::make_unique<Server>(db_, keys_file_);
  ASSERT_TRUE(server->ok()) << server->log();
  EXPECT_EQ(Analyze(*server, Bearer(new_key)), "OK");
  EXPECT_EQ(Analyze(*server, Bearer(old_key)), "UNAUTHENTICATED API_KEY_INVALID");
  CliRun listed = Facectl({"--server", server->address(), "api-key", "list"});
  ASSERT_EQ(listed.code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr(new_id));
  EXPECT_THAT(listed.out, Not(HasSubstr(old_id)));
  EXPECT_THAT(listed.out, Not(HasSubstr(Sha256Hex(new_key))));
}

TEST_F(FaceserveApiKeysTest, KeysFileChangesApplyWithoutARestart) {
  Server server(db_, keys_file_);
  ASSERT_TRUE(server.ok()) << server.log();
  CliRun made = Facectl({"api-key", "generate", "--keys-file", keys_file_, "--name", "late",
                      "--scopes", "analyze"});
  ASSERT_EQ(made.code, 0) << made.err;
  const std::string late = std::string(absl::StripAsciiWhitespace(made.out));
  secrets_.push_back(late);
  EXPECT_TRUE(testing::WaitUntil([&] { return Analyze(server, Bearer(late)) == "OK"; },
                                 absl::Seconds(10)));
  // Removing root's entry revokes root; the late key stays.
  std::vector<std::string> lines = absl::StrSplit(ReadFile(keys_file_), '\n');
  std::string without_root;
  bool in_root = false;
  for (const std::string& line : lines) {
    if (absl::StartsWith(line, "- ")) in_root = line.find(*ApiKeyIdOf(root_)) != std::string::npos;
    if (!in_root && !line.empty()) absl::StrAppend(&without_root, line, "\n");
  }
  std::ofstream(keys_file_, std::ios::trunc) << without_root;
  EXPECT_TRUE(testing::WaitUntil(
      [&] { return Analyze(server, Bearer(root_)) == "UNAUTHENTICATED API_KEY_INVALID"; },
      absl::Seconds(10)));
  EXPECT_EQ(Analyze(server, Bearer(late)), "OK");
}

TEST_F(FaceserveApiKeysTest, TheHttpApiTakesTheKeyFromTheAuthorizationHeader) {
  Server server(db_, keys_file_);
  ASSERT_TRUE(server.ok()) << server.log();
  ASSERT_NE(server.http_port(), 0) << server.log();
  const std::string cam = CreateKey(server, "cam", {v1::SCOPE_ANALYZE}, {});
  const std::string ident = CreateKey(server, "ident", {v1::SCOPE_IDENTIFY}, {"staff"});
  httplib::Client http("127.0.0.1", server.http_port());
  http.set_read_timeout(60, 0);
  auto analyze = [&](const std::string& authorization) {
    httplib::Headers headers;
    if (!authorization.empty()) headers.emplace("Authorization", authorization);
    httplib::Result res =
        http.Post("/v1/analyze?options.predictors=landmarks", headers, ReadFile(kPhoto), "image/jpeg");
    return res ? absl::StrCat(res->status, " ", res->body.substr(0, 400)) : "no answer";
  };
  EXPECT_THAT(analyze(""), ::testing::StartsWith("401 "));
  EXPECT_THAT(analyze(""), HasSubstr("API_KEY_MISSING"));
  EXPECT_THAT(analyze(Bearer("fsk_wrong")), HasSubstr("API_KEY_INVALID"));
  EXPECT_THAT(analyze(Bearer(ident)), ::testing::StartsWith("403 "));
  EXPECT_THAT(analyze(Bearer(ident)), HasSubstr("SCOPE_NOT_GRANTED"));
  EXPECT_THAT(analyze(Bearer(cam)), ::testing::StartsWith("200 "));
  EXPECT_THAT(analyze(Bearer(cam)), HasSubstr("\"faces\""));
  for (const std::string& key : secrets_) {
    EXPECT_THAT(server.log(), Not(HasSubstr(key.substr(key.rfind('_') + 1))));
  }
}

TEST_F(FaceserveApiKeysTest, FacectlSendsTheKeyFromItsFlagOrTheEnvironment) {
  Server server(db_, keys_file_);
  ASSERT_TRUE(server.ok()) << server.log();
  CliRun none = Facectl({"--server", server.address(), "analyze", "--detect-only", kPhoto});
  EXPECT_EQ(none.code, 1);
  EXPECT_THAT(none.err, HasSubstr("UNAUTHENTICATED [API_KEY_MISSING]"));
  CliRun flag = Facectl({"--server", server.address(), "--api-key", root_, "analyze",
                      "--detect-only", kPhoto});
  EXPECT_EQ(flag.code, 0) << flag.err;
  EXPECT_THAT(flag.out, HasSubstr("\"faces\""));
  setenv("FACESERVE_API_KEY", root_.c_str(), 1);
  CliRun env = Facectl({"--server", server.address(), "analyze", "--detect-only", kPhoto});
  EXPECT_EQ(env.code, 0) << env.err;
  // The flag wins over the environment.
  CliRun both = Facectl({"--server", server.address(), "--api-key", "fsk_wrong", "analyze",
                      "--detect-only", kPhoto});
  EXPECT_THAT(both.err, HasSubstr("UNAUTHENTICATED [API_KEY_INVALID]"));
  CliRun created = Facectl({"--server", server.address(), "api-key", "create", "--name", "cli",
                         "--scopes", "identify,enroll", "--galleries", "a,b"});
  ASSERT_EQ(created.code, 0) << created.err;
  EXPECT_THAT(created.out, HasSubstr("\"key\":\"fsk_"));
  EXPECT_THAT(created.out, HasSubstr("\"scopes\":[\"identify\",\"enroll\"]"));
}

TEST_F(FaceserveApiKeysTest, WithoutAuthTheServerBehavesAsBefore) {
  Server server(db_, "", /*required=*/false);
  ASSERT_TRUE(server.ok()) << server.log();
  EXPECT_EQ(Analyze(server, ""), "OK");
  EXPECT_EQ(Analyze(server, Bearer("fsk_anything")), "OK");
  v1::CreateApiKeyRequest request;
  request.set_name("k");
  request.add_scopes(v1::SCOPE_ADMIN);
  v1::CreateApiKeyResponse response;
  EXPECT_EQ(Outcome(Call(*server.keys, &v1::ApiKeyService::Stub::CreateApiKey, "", request,
                         &response)),
            "FAILED_PRECONDITION KEY_MANAGEMENT_UNAVAILABLE");
  EXPECT_THAT(server.log(), HasSubstr("API keys off"));
}

}  // namespace
}  // namespace faceserve
