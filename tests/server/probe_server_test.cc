// The probes and metrics port (server/probe_server.h) over real HTTP on
// loopback: the scrape, liveness, readiness as it changes, the refusals, the
// address errors, and /readyz answering at once while the HTTP API holds 64
// calls in flight (each port has its own threads).
#include "server/probe_server.h"

#include <httplib.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http_api.h"
#include "server/http_routes.h"
#include "tests/server/test_harness.h"

namespace faceserve {
namespace {

using ::testing::HasSubstr;
using testing::EncodedImage;
using testing::Harness;

std::unique_ptr<ProbeServer> StartOrDie(const std::string& listen, std::atomic<bool>* ready,
                                        std::function<std::string()> metrics,
                                        std::function<std::string()> detail = nullptr) {
  absl::StatusOr<std::unique_ptr<ProbeServer>> probes =
      ProbeServer::Start(listen, ProbeHandlers{std::move(metrics),
                                               [ready] { return ready->load(); },
                                               std::move(detail)});
  EXPECT_TRUE(probes.ok()) << probes.status();
  return probes.ok() ? *std::move(probes) : nullptr;
}

TEST(ProbeServerTest, ServesTheScrapeLivenessAndReadiness) {
  std::atomic<bool> ready{false};
  auto probes = StartOrDie("127.0.0.1:0", &ready, [] { return std::string("up_total 1\n"); });
  ASSERT_NE(probes, nullptr);
  ASSERT_GT(probes->port(), 0);
  httplib::Client client("127.0.0.1", probes->port());

  httplib::Result metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->body, "up_total 1\n");
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  httplib::Result head = client.Head("/metrics");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);

  httplib::Result live = client.Get("/healthz");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200);

  httplib::Result not_ready = client.Get("/readyz");
  ASSERT_TRUE(not_ready);
  EXPECT_EQ(not_ready->status, 503);
  ready.store(true);
  httplib::Result is_ready = client.Get("/readyz");
  ASSERT_TRUE(is_ready);
  EXPECT_EQ(is_ready->status, 200);
  ready.store(false);  // shutting down
  httplib::Result stopping = client.Get("/readyz");
  ASSERT_TRUE(stopping);
  EXPECT_EQ(stopping->status, 503);
}

// Readiness stays what ready() says; the detail (stale galleries, issue 33)
// follows on the next lines, for an operator reading the probe.
TEST(ProbeServerTest, ReadyzCarriesTheDetailAfterItsFirstLine) {
  std::atomic<bool> ready{true};
  std::string detail = "galleries may be stale: 7.0 s\n";
  auto probes = StartOrDie("127.0.0.1:0", &ready, [] { return std::string(); },
                           [&detail] { return detail; });
  ASSERT_NE(probes, nullptr);
  httplib::Client client("127.0.0.1", probes->port());
  httplib::Result stale = client.Get("/readyz");
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->status, 200);
  EXPECT_EQ(stale->body, "ready\ngalleries may be stale: 7.0 s\n");
  detail.clear();
  httplib::Result fresh = client.Get("/readyz");
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->body, "ready\n");
}

TEST(ProbeServerTest, OtherPathsAreNotFoundAndOtherMethodsNotAllowed) {
  std::atomic<bool> ready{true};
  auto probes = StartOrDie("127.0.0.1:0", &ready, [] { return std::string(); });
  ASSERT_NE(probes, nullptr);
  httplib::Client client("127.0.0.1", probes->port());
  httplib::Result other = client.Get("/other");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  httplib::Result post = client.Post("/metrics", "x", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->get_header_value("Allow"), "GET, HEAD");
}

TEST(ProbeServerTest, AddressErrorsNameTheKey) {
  std::atomic<bool> ready{true};
  const auto metrics = [] { return std::string(); };
  const auto ready_fn = [&ready] { return ready.load(); };
  for (const char* malformed : {"no-port", "127.0.0.1:99999", "127.0.0.1:x"}) {
    auto probes = ProbeServer::Start(malformed, ProbeHandlers{metrics, ready_fn, nullptr});
    EXPECT_EQ(probes.status().code(), absl::StatusCode::kInvalidArgument) << malformed;
    EXPECT_THAT(std::string(probes.status().message()), HasSubstr("metrics.listen"));
  }
  auto foreign = ProbeServer::Start("192.0.2.1:9464", ProbeHandlers{metrics, ready_fn, nullptr});  // TEST-NET
  EXPECT_EQ(foreign.status().code(), absl::StatusCode::kUnavailable) << foreign.status();
  auto first = StartOrDie("127.0.0.1:0", &ready, metrics);
  ASSERT_NE(first, nullptr);
  auto taken = ProbeServer::Start(absl::StrCat("127.0.0.1:", first->port()),
                                  ProbeHandlers{metrics, ready_fn, nullptr});
  EXPECT_EQ(taken.status().code(), absl::StatusCode::kUnavailable) << taken.status();
}

// What the port is for: a kubelet's readiness probe must not time out
// because the API is busy. 64 HTTP analyze calls are held in flight by the
// pipeline; /readyz, on its own threads, answers at once. The 64 connect at
// once: with httplib's listen backlog of 5, some failed at once (Read) until
// HttpListener raised it.
TEST(ProbeServerTest, ReadyzAnswersWhileSixtyFourHttpCallsAreInFlight) {
  constexpr int kCalls = 64;
  Config config = testing::TestConfig();
  config.server.max_concurrent_calls = kCalls;
  config.http.listen = "127.0.0.1:0";
  Harness h(config);
  absl::StatusOr<std::vector<HttpRoute>> routes = UnaryRoutes(h.server->services());
  ASSERT_TRUE(routes.ok()) << routes.status();
  absl::StatusOr<std::unique_ptr<HttpApi>> api = HttpApi::Start(
      ResolvedHttpConfig(config), TlsConfig(), 1 << 20, h.server->InProcessChannel(), *routes);
  ASSERT_TRUE(api.ok()) << api.status();
  std::atomic<bool> ready{true};
  auto probes = StartOrDie("127.0.0.1:0", &ready, [m = h.metrics.get()] { return m->Scrape(); });
  ASSERT_NE(probes, nullptr);

  h.pipeline.Hold();
  const std::string body =
      absl::StrCat(R"({"image": {"encoded": ")", absl::Base64Escape(EncodedImage().encoded()), R"("}})");
  std::vector<int> statuses(kCalls, 0);
  std::vector<std::thread> callers;
  for (int i = 0; i < kCalls; ++i) {
    callers.emplace_back([&, i] {
      httplib::Client c("127.0.0.1", (*api)->port());
      c.set_read_timeout(60, 0);
      httplib::Result r = c.Post("/v1/analyze", body, "application/json");
      statuses[i] = r ? r->status : -static_cast<int>(r.error());  // -4: httplib::Error::Read
    });
  }
  // Joined on every path out (an ASSERT below returns early).
  struct JoinAll {
    testing::FakePipeline& pipeline;
    std::vector<std::thread>& threads;
    ~JoinAll() {
      pipeline.Release();
      for (std::thread& t : threads) t.join();
    }
  } join_all{h.pipeline, callers};
  ASSERT_TRUE(h.pipeline.WaitForQueued(kCalls)) << h.pipeline.queued() << " queued";
  EXPECT_EQ(h.server->in_flight(), kCalls);

  httplib::Client prober("127.0.0.1", probes->port());
  const absl::Time start = absl::Now();
  httplib::Result readyz = prober.Get("/readyz");
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(readyz);
  EXPECT_EQ(readyz->status, 200);
  EXPECT_LT(took, absl::Milliseconds(100));
  std::printf("/readyz in %.2f ms with %d HTTP calls in flight\n",
              absl::ToDoubleMilliseconds(took), kCalls);
  httplib::Result scrape = prober.Get("/metrics");
  ASSERT_TRUE(scrape);
  EXPECT_THAT(scrape->body, HasSubstr(absl::StrCat("faceserve_requests_in_flight ", kCalls)));

  h.pipeline.Release();
  for (std::thread& t : callers) t.join();
  callers.clear();
  for (int i = 0; i < kCalls; ++i) EXPECT_EQ(statuses[i], 200) << "call " << i;
}

}  // namespace
}  // namespace faceserve
