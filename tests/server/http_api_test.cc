// The HTTP/JSON API (issue 31) over real HTTP on loopback, in front of a
// FaceServer with the FakePipeline: routes generated from the services,
// JSON and raw-image bodies answered as gRPC answers them, every error with
// grpc-gateway's HTTP status and the ErrorInfo reason, the size limit, the
// deadline header, and the one in-flight budget shared with gRPC.
#include "server/http_api.h"

#include <httplib.h>

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "server/http_routes.h"
#include "server/http_status.h"
#include "tests/server/test_harness.h"
#include "tests/testing/http_error_reason.h"
#include "tests/testing/test_certificates.h"

namespace faceserve {
namespace {

using testing::ReasonOf;

using ::testing::HasSubstr;
using testing::AsyncCall;
using testing::EncodedImage;
using testing::Harness;

// A Harness (FaceServer + FakePipeline) with the HTTP API in front.
struct HttpHarness {
  explicit HttpHarness(Config config = testing::TestConfig(), int64_t max_body = 1 << 20)
      : h(config) {
    config.http.listen = "127.0.0.1:0";
    absl::StatusOr<std::vector<HttpRoute>> routes = UnaryRoutes(h.server->services());
    EXPECT_TRUE(routes.ok()) << routes.status();
    // As server_main starts it: refusals before the body is read.
    absl::StatusOr<std::unique_ptr<HttpApi>> started = HttpApi::Start(
        ResolvedHttpConfig(config), TlsConfig(), max_body, h.server->InProcessChannel(), *routes,
        nullptr, [server = h.server.get()] { return server->AdmissionPreview(); });
    EXPECT_TRUE(started.ok()) << started.status();
    api = *std::move(started);
    client = std::make_unique<httplib::Client>("127.0.0.1", api->port());
    client->set_read_timeout(30, 0);
  }
  ~HttpHarness() { api->Stop(); }

  httplib::Result PostJson(const std::string& path, const std::string& json,
                           const httplib::Headers& headers = {}) {
    return client->Post(path.c_str(), headers, json, "application/json");
  }

  Harness h;
  std::unique_ptr<HttpApi> api;
  std::unique_ptr<httplib::Client> client;
};

std::string AnalyzeJson() {
  return absl::StrCat(R"({"image": {"encoded": ")", absl::Base64Escape(EncodedImage().encoded()),
                      R"("}, "options": {"return_embeddings": true}})");
}


TEST(HttpRoutesTest, EveryUnaryRpcGetsItsSnakeCaseRoute) {
  EXPECT_EQ(SnakeCase("Analyze"), "analyze");
  EXPECT_EQ(SnakeCase("ListGalleries"), "list_galleries");
  EXPECT_EQ(SnakeCase("CreateApiKey"), "create_api_key");
  EXPECT_EQ(SnakeCase("GetHTTPRoute"), "get_http_route");
  Harness h;
  absl::StatusOr<std::vector<HttpRoute>> routes = UnaryRoutes(h.server->services());
  ASSERT_TRUE(routes.ok());
  std::vector<std::string> paths;
  for (const HttpRoute& r : *routes) paths.push_back(r.path + " " + r.grpc_method);
  EXPECT_THAT(paths, ::testing::IsSupersetOf(
                         {"/v1/analyze /faceserve.v1.FaceService/Analyze",
                          "/v1/embed /faceserve.v1.FaceService/Embed",
                          "/v1/verify /faceserve.v1.FaceService/Verify",
                          "/v1/create_api_key /faceserve.v1.ApiKeyService/CreateApiKey"}));
}

TEST(HttpStatusTest, GrpcCodesMapAsGrpcGatewayMapsThem) {
  using C = grpc::StatusCode;
  const std::vector<std::pair<C, int>> table = {
      {C::OK, 200},          {C::CANCELLED, 499},          {C::UNKNOWN, 500},
      {C::INVALID_ARGUMENT, 400}, {C::DEADLINE_EXCEEDED, 504}, {C::NOT_FOUND, 404},
      {C::ALREADY_EXISTS, 409},   {C::PERMISSION_DENIED, 403}, {C::UNAUTHENTICATED, 401},
      {C::RESOURCE_EXHAUSTED, 429}, {C::FAILED_PRECONDITION, 400}, {C::ABORTED, 409},
      {C::OUT_OF_RANGE, 400},     {C::UNIMPLEMENTED, 501},     {C::INTERNAL, 500},
      {C::UNAVAILABLE, 503},      {C::DATA_LOSS, 500}};
  for (const auto& [code, http] : table) EXPECT_EQ(HttpStatusFromGrpcCode(code), http) << code;
}

TEST(HttpApiTest, JsonAnalyzeAnswersAsGrpcDoes) {
  HttpHarness t;
  httplib::Result res = t.PostJson("/v1/analyze", AnalyzeJson());
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  v1::AnalyzeResponse over_http;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(res->body, &over_http).ok());

  v1::AnalyzeRequest request;
  *request.mutable_image() = EncodedImage();
  request.mutable_options()->set_return_embeddings(true);
  v1::AnalyzeResponse over_grpc;
  ASSERT_TRUE(t.h.stub->Analyze(testing::ContextWithTimeout().get(), request, &over_grpc).ok());
  over_http.clear_timings();
  over_grpc.clear_timings();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(over_http, over_grpc))
      << over_http.DebugString() << "\nvs\n" << over_grpc.DebugString();
  EXPECT_GT(over_http.faces_size(), 0);
}

TEST(HttpApiTest, AnImageBodyTakesItsOptionsFromTheQuery) {
  HttpHarness t;
  httplib::Result res = t.client->Post(
      "/v1/analyze?options.predictors=expression&options.predictors=age&options.max_faces=3",
      EncodedImage().encoded(), "image/jpeg");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const auto received = t.h.pipeline.calls();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].image.encoded, EncodedImage().encoded());
  EXPECT_EQ(received[0].analyze.predictors, (std::vector<std::string>{"expression", "age"}));
  EXPECT_EQ(received[0].analyze.max_faces, 3);

  // The last two decode to bytes that are not UTF-8 (found by the
  // http_request fuzzer: they made the JSON writer throw).
  for (const char* bad : {"/v1/analyze?nonsense=1", "/v1/analyze?options.max_faces=many",
                          "/v1/analyze?image.encoded=x", "/v1/analyze?options=1",
                          "/v1/analyze?options.predictors=%FF%FE",
                          "/v1/analyze?options.predictors=a%C0%AF"}) {
    httplib::Result r = t.client->Post(bad, EncodedImage().encoded(), "image/jpeg");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << bad << " " << r->body;
    EXPECT_EQ(ReasonOf(r->body), "INVALID_FIELD") << bad;
  }
  // A route whose request has no image takes JSON alone.
  httplib::Result no_image = t.client->Post("/v1/list_api_keys", "xx", "image/png");
  ASSERT_TRUE(no_image);
  EXPECT_EQ(no_image->status, 400);
}

TEST(HttpApiTest, AMultipartUploadIsAnImageWithItsFields) {
  HttpHarness t;
  httplib::MultipartFormDataItems form = {
      {"image", EncodedImage().encoded(), "photo.jpg", "image/jpeg"},
      {"options.predictors", "expression", "", ""},
      {"options.min_detection_score", "0.5", "", ""},
  };
  httplib::Result res = t.client->Post("/v1/analyze", form);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const auto calls = t.h.pipeline.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].image.encoded, EncodedImage().encoded());
  EXPECT_EQ(calls[0].analyze.predictors, (std::vector<std::string>{"expression"}));
  EXPECT_FLOAT_EQ(calls[0].analyze.min_detection_score, 0.5f);

  httplib::MultipartFormDataItems no_image = {{"options.predictors", "expression", "", ""}};
  httplib::Result refused = t.client->Post("/v1/analyze", no_image);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
  EXPECT_THAT(refused->body, HasSubstr("no part named"));
}

TEST(HttpApiTest, TheOpenApiDocumentListsExactlyTheRoutesServed) {
  HttpHarness t;
  httplib::Result res = t.client->Get("/openapi.json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  const nlohmann::json doc = nlohmann::json::parse(res->body);
  EXPECT_EQ(doc["openapi"], "3.0.3");
  std::set<std::string> documented;
  for (const auto& [path, item] : doc["paths"].items()) documented.insert(path);
  std::set<std::string> served;
  absl::StatusOr<std::vector<HttpRoute>> routes = UnaryRoutes(t.h.server->services());
  ASSERT_TRUE(routes.ok());
  for (const HttpRoute& r : *routes) served.insert(r.path);
  EXPECT_EQ(documented, served);
  // Every documented route answers (with this empty body: OK or the RPC's
  // own error, never "no route"), and every schema it refers to exists.
  for (const std::string& path : documented) {
    httplib::Result r = t.PostJson(path, "{}");
    ASSERT_TRUE(r) << path;
    EXPECT_NE(r->status, 404) << path << " " << r->body;
    for (const char* side : {"requestBody", "responses"}) {
      const std::string text = doc["paths"][path]["post"][side].dump();
      for (size_t at = text.find("#/components/schemas/"); at != std::string::npos;
           at = text.find("#/components/schemas/", at + 1)) {
        const size_t start = at + std::string("#/components/schemas/").size();
        const std::string name = text.substr(start, text.find('"', start) - start);
        EXPECT_TRUE(doc["components"]["schemas"].contains(name)) << name;
      }
    }
  }
  const auto& analyze = doc["components"]["schemas"]["faceserve.v1.AnalyzeRequest"];
  EXPECT_EQ(analyze["properties"]["image"]["$ref"], "#/components/schemas/faceserve.v1.Image");
  EXPECT_EQ(doc["components"]["schemas"]["faceserve.v1.Image"]["properties"]["encoded"]["format"],
            "byte");
  EXPECT_TRUE(doc["paths"]["/v1/analyze"]["post"]["requestBody"]["content"].contains("image/*"));
}

TEST(HttpApiTest, ErrorsCarryTheirHttpStatusAndReason) {
  HttpHarness t;
  struct Case {
    std::string path, body, content_type;
    int status;
    std::string reason;
  };
  for (const Case& c : std::vector<Case>{
           {"/v1/analyze", R"({"image": {"encoded": ""}})", "application/json", 400, "INVALID_FIELD"},
           {"/v1/analyze", R"({"imag": 1})", "application/json", 400, "INVALID_FIELD"},
           {"/v1/analyze", "{not json", "application/json", 400, "INVALID_FIELD"},
           {"/v1/analyze", "x=1", "application/x-www-form-urlencoded", 415, "INVALID_FIELD"},
           {"/v1/verify", "{}", "application/json", 400, "INVALID_FIELD"},
           {"/v1/nothing", "{}", "application/json", 404, ""},
       }) {
    httplib::Result res = t.client->Post(c.path.c_str(), c.body, c.content_type.c_str());
    ASSERT_TRUE(res) << c.path;
    EXPECT_EQ(res->status, c.status) << c.path << " " << c.body << " -> " << res->body;
    EXPECT_EQ(ReasonOf(res->body), c.reason) << c.body << " -> " << res->body;
  }
  // A GET of a POST route is no route either, with a JSON body.
  httplib::Result get = t.client->Get("/v1/analyze");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 404);
  EXPECT_THAT(get->body, HasSubstr("POST /v1/"));
  // The pipeline's own errors keep their code and reason.
  t.h.pipeline.set_analyze_result(
      WithReason(absl::ResourceExhaustedError("queue full"), ErrorReason::kQueueFull));
  httplib::Result full = t.PostJson("/v1/analyze", AnalyzeJson());
  ASSERT_TRUE(full);
  EXPECT_EQ(full->status, 429);
  EXPECT_EQ(ReasonOf(full->body), "QUEUE_FULL");
}

TEST(HttpApiTest, ABodyOverTheLimitIsRefusedBeforeItIsRead) {
  HttpHarness t(testing::TestConfig(), /*max_body=*/4096);
  httplib::Result res = t.client->Post("/v1/analyze", std::string(100000, 'x'), "image/jpeg");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_THAT(res->body, HasSubstr("size limit"));
  EXPECT_TRUE(t.h.pipeline.calls().empty());
}

TEST(HttpApiTest, TheTimeoutHeaderIsTheCallsDeadline) {
  HttpHarness t;
  t.h.pipeline.Hold();
  httplib::Result res = t.PostJson("/v1/analyze", AnalyzeJson(), {{"X-Timeout-Ms", "200"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 504) << res->body;
  t.h.pipeline.Release();
  httplib::Result bad = t.PostJson("/v1/analyze", AnalyzeJson(), {{"X-Timeout-Ms", "soon"}});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(ReasonOf(bad->body), "INVALID_FIELD");
}

TEST(HttpApiTest, HttpAndGrpcShareOneInFlightBudget) {
  Config config = testing::TestConfig();
  config.server.max_concurrent_calls = 2;
  HttpHarness t(config);
  t.h.pipeline.Hold();
  v1::AnalyzeRequest request;
  *request.mutable_image() = EncodedImage();
  AsyncCall<v1::AnalyzeResponse> first, second;
  t.h.stub->async()->Analyze(first.ctx.get(), &request, &first.response, first.Callback());
  t.h.stub->async()->Analyze(second.ctx.get(), &request, &second.response, second.Callback());
  ASSERT_TRUE(t.h.pipeline.WaitForQueued(2));
  httplib::Result refused = t.PostJson("/v1/analyze", AnalyzeJson());
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429);
  EXPECT_EQ(ReasonOf(refused->body), "TOO_MANY_CALLS");
  t.h.pipeline.Release();
  ASSERT_TRUE(first.Wait());
  ASSERT_TRUE(second.Wait());
  EXPECT_TRUE(testing::WaitUntil([&] { return t.h.server->in_flight() == 0; }));
  httplib::Result served = t.PostJson("/v1/analyze", AnalyzeJson());
  ASSERT_TRUE(served);
  EXPECT_EQ(served->status, 200);
}

TEST(HttpApiTest, EveryRequestIsCountedByRouteAndStatus) {
  Harness h;
  Config config = testing::TestConfig();
  config.http.listen = "127.0.0.1:0";
  absl::StatusOr<std::vector<HttpRoute>> routes = UnaryRoutes(h.server->services());
  ASSERT_TRUE(routes.ok());
  absl::StatusOr<std::unique_ptr<HttpApi>> api = HttpApi::Start(
      ResolvedHttpConfig(config), TlsConfig(), 1 << 20, h.server->InProcessChannel(), *routes,
      [&h](const std::string& route, int status, absl::Duration latency) {
        h.metrics->OnHttpRequest(route, status, latency);
      });
  ASSERT_TRUE(api.ok()) << api.status();
  httplib::Client client("127.0.0.1", (*api)->port());
  ASSERT_TRUE(client.Post("/v1/analyze", AnalyzeJson(), "application/json"));
  ASSERT_TRUE(client.Post("/v1/analyze", "{\"image\": {}}", "application/json"));
  ASSERT_TRUE(client.Post("/v1/no/such/thing", "{}", "application/json"));
  (*api)->Stop();
  const std::string scrape = h.metrics->Scrape();
  EXPECT_THAT(scrape, HasSubstr(R"(faceserve_http_requests_total{route="/v1/analyze",status="200"} 1)"));
  EXPECT_THAT(scrape, HasSubstr(R"(faceserve_http_requests_total{route="/v1/analyze",status="400"} 1)"));
  EXPECT_THAT(scrape, HasSubstr(R"(faceserve_http_requests_total{route="other",status="404"} 1)"));
  EXPECT_THAT(scrape, HasSubstr(R"(faceserve_http_request_duration_seconds_count{route="/v1/analyze"} 2)"));
  // The RPCs the HTTP requests carried are counted as gRPC's are.
  EXPECT_THAT(scrape, HasSubstr(R"(faceserve_requests_total{code="OK",rpc="Analyze"} 1)"));
}

TEST(HttpApiTest, CorsHeadersOnlyForTheConfiguredOrigins) {
  Config config = testing::TestConfig();
  config.http.cors_origins = {"https://app.example"};
  HttpHarness t(config);
  httplib::Result allowed =
      t.PostJson("/v1/analyze", AnalyzeJson(), {{"Origin", "https://app.example"}});
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->status, 200);
  EXPECT_EQ(allowed->get_header_value("Access-Control-Allow-Origin"), "https://app.example");
  httplib::Result other = t.PostJson("/v1/analyze", AnalyzeJson(), {{"Origin", "https://evil.example"}});
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->has_header("Access-Control-Allow-Origin"));
  httplib::Result preflight = t.client->Options(
      "/v1/analyze", {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "POST"}});
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 204);
  EXPECT_THAT(preflight->get_header_value("Access-Control-Allow-Headers"), HasSubstr("Authorization"));
  // Off by default.
  HttpHarness off;
  httplib::Result none = off.PostJson("/v1/analyze", AnalyzeJson(), {{"Origin", "https://app.example"}});
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_header("Access-Control-Allow-Origin"));
}

// Idle keep-alive connections each hold a pool thread until they time out;
// the default pool leaves room for every call the server would admit.
TEST(HttpApiTest, FortyIdleKeepAliveConnectionsDoNotStopAnalyze) {
  Config config = testing::TestConfig();
  config.server.max_concurrent_calls = 32;  // config/default.yaml's
  HttpHarness t(config);
  std::vector<std::unique_ptr<httplib::Client>> idle;
  for (int i = 0; i < 40; ++i) {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", t.api->port());
    c->set_keep_alive(true);
    httplib::Result r = c->Get("/openapi.json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    idle.push_back(std::move(c));  // connected, idle, kept alive
  }
  const absl::Time start = absl::Now();
  httplib::Result res = t.PostJson("/v1/analyze", AnalyzeJson());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  // Well below the 5 s keep-alive timeout that would free a thread.
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST(HttpApiTest, ServesTlsWithTheServersCertificate) {
  testing::TestCertificates certs;
  ASSERT_TRUE(certs.ok()) << certs.error();
  testing::Harness h;
  Config config = testing::TestConfig();
  config.http.listen = "127.0.0.1:0";
  TlsConfig tls;
  tls.cert_file = certs.path("server.pem");
  tls.key_file = certs.path("server.key");
  absl::StatusOr<std::unique_ptr<HttpApi>> api =
      HttpApi::Start(ResolvedHttpConfig(config), tls, 1 << 20, h.server->InProcessChannel(),
                     *UnaryRoutes(h.server->services()));
  ASSERT_TRUE(api.ok()) << api.status();
  httplib::SSLClient secure("127.0.0.1", (*api)->port());
  secure.set_ca_cert_path(certs.path("ca_a.pem").c_str());
  secure.enable_server_certificate_verification(true);
  httplib::Result ok = secure.Post("/v1/analyze", AnalyzeJson(), "application/json");
  ASSERT_TRUE(ok) << httplib::to_string(ok.error());
  EXPECT_EQ(ok->status, 200);
  httplib::Client plain("127.0.0.1", (*api)->port());
  plain.set_read_timeout(5, 0);
  httplib::Result refused = plain.Post("/v1/analyze", AnalyzeJson(), "application/json");
  EXPECT_FALSE(refused && refused->status == 200);
  (*api)->Stop();

  tls.key_file = certs.path("client_b.key");  // not the certificate's key
  EXPECT_FALSE(HttpApi::Start(ResolvedHttpConfig(config), tls, 1 << 20,
                              h.server->InProcessChannel(), *UnaryRoutes(h.server->services()))
                   .ok());
}

}  // namespace
}  // namespace faceserve
