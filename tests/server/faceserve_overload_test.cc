// Overload of the real faceserve process: real models on CPU, calls offered
// open loop (at a fixed rate, whatever the answers) far above what the
// machine can compute, then the load dropped.
//
// Checks what README "Limits and failure behaviour" promises, over gRPC and
// over the HTTP API: calls beyond
// server.max_concurrent_calls are refused at once with the retryable
// RESOURCE_EXHAUSTED; the accepted ones keep a latency bounded by the limit
// (never the backlog of everything offered) and get their full answer;
// resident memory does not grow with the offered load; the server's own
// counters agree with what the clients saw; and when the load drops, a call
// is as fast as before it. The figures at the default limits are measured by
// bench/run_overload.sh, not here.
//
// Needs the faceserve binary (FACESERVE_BINARY) and the exported models;
// registered with the label "models".
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/server/test_harness.h"
#include "tests/testing/http_error_reason.h"
#include "tests/testing/http_get.h"
#include "tests/testing/same_answer.h"
#include "tests/testing/server_process.h"

namespace faceserve {
namespace {

using testing::ReasonOf;

using testing::HealthCheck;
using testing::SameAnswer;
using testing::ServerProcess;

const std::string kSourceDir = FACESERVE_SOURCE_DIR;
constexpr int kMaxConcurrentCalls = 8;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Nearest-rank percentile, p in [0, 100].
double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * v.size()));
  return v[rank == 0 ? 0 : rank - 1];
}

// Sum of the samples of a Prometheus metric whose label set contains every
// one of `labels` (e.g. {"code=\"RESOURCE_EXHAUSTED\""}).
double MetricSum(const std::string& text, const std::string& name,
                 const std::vector<std::string>& labels = {}) {
  double sum = 0;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name, 0) != 0) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != '{' && next != ' ') continue;
    bool match = true;
    for (const std::string& l : labels) match = match && line.find(l) != std::string::npos;
    if (match) sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}


struct Outcome {
  grpc::Status status;
  v1::AnalyzeResponse response;
  double latency_s = 0;
};

// What one phase of offered load came to.
struct Phase {
  int sent = 0;
  std::vector<std::shared_ptr<Outcome>> outcomes;
  int64_t peak_rss = 0;  // sampled every 20 ms while the calls ran
};

class OverloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(std::vector<std::string>{
        FACESERVE_BINARY, "--config", kSourceDir + "/config/default.yaml", "--set",
        "server.listen=127.0.0.1:0", "--set", "metrics.listen=127.0.0.1:0", "--set",
        "http.listen=127.0.0.1:0", "--set",
        "device.device=cpu", "--set", "models_dir=" + kSourceDir + "/models/exported", "--set",
        absl::StrCat("server.max_concurrent_calls=", kMaxConcurrentCalls)});
    ASSERT_GT(server_->pid(), 0);
    const int port = server_->WaitForPort(absl::Seconds(120));
    ASSERT_GT(port, 0) << server_->log();
    metrics_port_ = server_->WaitForMetricsPort(absl::Seconds(5));
    ASSERT_GT(metrics_port_, 0) << server_->log();
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials());
    ASSERT_TRUE(testing::WaitUntil(
        [&] { return HealthCheck(channel_, "") == testing::kServing; }, absl::Seconds(180)))
        << server_->log();
    stub_ = v1::FaceService::NewStub(channel_);
    request_.mutable_image()->set_encoded(ReadFile(
        kSourceDir + "/models/reference/node_modules/@vladmandic/face-api/demo/sample1.jpg"));
    ASSERT_FALSE(request_.image().encoded().empty());
  }

  // One call at a time: its latency in seconds, the answer in `response`.
  double TimedCall(v1::AnalyzeResponse* response) {
    auto ctx = testing::ContextWithTimeout(absl::Seconds(60));
    const absl::Time start = absl::Now();
    grpc::Status status = stub_->Analyze(ctx.get(), request_, response);
    EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
    return absl::ToDoubleSeconds(absl::Now() - start);
  }

  // Starts `rate` calls per second for `duration`, whatever the answers, and
  // waits for every answer.
  Phase Offer(double rate, absl::Duration duration) {
    Phase phase;
    std::mutex mu;
    std::atomic<int> pending{0};
    std::atomic<bool> sampling{true};
    std::atomic<int64_t> peak{0};
    std::thread sampler([&] {
      while (sampling.load()) {
        peak = std::max(peak.load(), server_->MemoryBytes("VmRSS"));
        absl::SleepFor(absl::Milliseconds(20));
      }
    });
    std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
    const absl::Time start = absl::Now();
    for (int i = 0;; ++i) {
      const absl::Time at = start + absl::Seconds(i / rate);
      if (at >= start + duration) break;
      absl::SleepFor(at - absl::Now());
      auto outcome = std::make_shared<Outcome>();
      {
        std::lock_guard<std::mutex> lock(mu);
        phase.outcomes.push_back(outcome);
      }
      contexts.push_back(testing::ContextWithTimeout(absl::Seconds(60)));
      ++pending;
      const absl::Time sent = absl::Now();
      stub_->async()->Analyze(contexts.back().get(), &request_, &outcome->response,
                              [outcome, sent, &pending](grpc::Status s) {
                                outcome->latency_s = absl::ToDoubleSeconds(absl::Now() - sent);
                                outcome->status = std::move(s);
                                --pending;
                              });
      ++phase.sent;
    }
    EXPECT_TRUE(testing::WaitUntil([&] { return pending.load() == 0; }, absl::Seconds(90)));
    sampling = false;
    sampler.join();
    phase.peak_rss = peak.load();
    return phase;
  }

  std::string Scrape() {
    auto response = testing::HttpGet("127.0.0.1", metrics_port_, "/metrics");
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->body : "";
  }

  std::unique_ptr<ServerProcess> server_;
  int metrics_port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::FaceService::Stub> stub_;
  v1::AnalyzeRequest request_;
};

TEST_F(OverloadTest, RefusesExcessAtOnceKeepsAcceptedCallsAndMemoryBoundedAndRecovers) {
  // Before: the answer every accepted call must get, and its latency alone.
  v1::AnalyzeResponse reference;
  std::vector<double> before;
  for (int i = 0; i < 5; ++i) before.push_back(TimedCall(&reference));
  ASSERT_GT(reference.faces_size(), 0);
  const double alone_s = Median(before);
  const int64_t rss_before = server_->MemoryBytes("VmRSS");
  ASSERT_GT(rss_before, 0);

  // Offered loads of 5x and 20x an upper bound on what this machine computes:
  // every core busy with a call that takes what one call alone took (the
  // bound does not depend on the machine's speed or the configured models).
  const double capacity = std::max(1u, std::thread::hardware_concurrency()) / alone_s;
  const std::vector<double> rates = {5 * capacity, 20 * capacity};
  std::vector<Phase> phases;
  int refused_total = 0, ok_total = 0;
  for (double rate : rates) {
    Phase phase = Offer(rate, absl::Seconds(6));
    std::vector<double> accepted, refused;
    for (const auto& o : phase.outcomes) {
      if (o->status.ok()) {
        accepted.push_back(o->latency_s);
        EXPECT_TRUE(SameAnswer(o->response, reference));
      } else {
        // Nothing but the retryable refusal: no deadline blown, no loss.
        EXPECT_EQ(o->status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
            << o->status.error_message();
        EXPECT_NE(o->status.error_message().find("max_concurrent_calls"), std::string::npos)
            << o->status.error_message();
        refused.push_back(o->latency_s);
      }
    }
    ok_total += static_cast<int>(accepted.size());
    refused_total += static_cast<int>(refused.size());
    const double accepted_p50 = Percentile(accepted, 50), accepted_max = Percentile(accepted, 100);
    const double refused_p99 = Percentile(refused, 99);
    std::printf(
        "offered %.0f calls/s for 6 s: %d sent, %zu answered (%.1f/s; latency p50 %.0f ms, max "
        "%.0f ms), %zu refused (p50 %.1f ms, p99 %.1f ms); peak RSS %.0f MiB (%.0f before)\n",
        rate, phase.sent, accepted.size(), accepted.size() / 6.0, accepted_p50 * 1e3,
        accepted_max * 1e3, refused.size(), Percentile(refused, 50) * 1e3, refused_p99 * 1e3,
        phase.peak_rss / 1048576.0, rss_before / 1048576.0);

    ASSERT_FALSE(accepted.empty()) << "no call was answered under overload";
    ASSERT_GT(refused.size(), accepted.size()) << "the offered load was not an overload";
    // Refusals are quick: a small fraction of the time an accepted call takes.
    EXPECT_LT(refused_p99, accepted_p50 / 4) << "refusals are not quick";
    // An accepted call waits behind at most the calls the limit lets in, not
    // behind the backlog of everything offered (6 s of it).
    EXPECT_LT(accepted_max, 2.0 * kMaxConcurrentCalls * alone_s + 1.0)
        << "accepted latency grows with the offered load";
    phases.push_back(std::move(phase));
  }

  // Memory is bounded by the limit, not by the offered load: four times the
  // load adds next to nothing, and neither is far above the idle size.
  EXPECT_LT(phases[1].peak_rss, phases[0].peak_rss + (64 << 20));
  EXPECT_LT(phases[1].peak_rss, rss_before + (512 << 20));

  // The server counted what the clients saw, and nothing is left over.
  const std::string metrics = Scrape();
  EXPECT_EQ(MetricSum(metrics, "faceserve_requests_total",
                      {"rpc=\"Analyze\"", "code=\"RESOURCE_EXHAUSTED\""}),
            refused_total);
  EXPECT_EQ(MetricSum(metrics, "faceserve_requests_total", {"rpc=\"Analyze\"", "code=\"OK\""}),
            ok_total + 5);
  EXPECT_EQ(MetricSum(metrics, "faceserve_requests_in_flight"), 0);
  EXPECT_EQ(MetricSum(metrics, "faceserve_queue_depth"), 0);
  EXPECT_EQ(MetricSum(metrics, "faceserve_dropped_items_total"), 0);

  // Recovered: serving, and a call alone is as fast as before the overload.
  EXPECT_EQ(HealthCheck(channel_, ""), testing::kServing);
  std::vector<double> after;
  for (int i = 0; i < 5; ++i) {
    v1::AnalyzeResponse response;
    after.push_back(TimedCall(&response));
    EXPECT_TRUE(SameAnswer(response, reference));
  }
  std::printf("one call alone: %.0f ms before, %.0f ms after\n", alone_s * 1e3,
              Median(after) * 1e3);
  EXPECT_LT(Median(after), 1.5 * alone_s + 0.05);
}

// The same overload through the HTTP API: raw image bodies offered at 5x
// what the machine computes for 6 s, by 4x the limit of clients, each on new
// connections at its share of the rate (behind when its call is slow). Beyond
// the limit a call is refused at once with 429 and the reason
// TOO_MANY_CALLS; an accepted call gets the full answer (as JSON, equal to
// gRPC's); nothing else comes back (no 5xx, no dropped connection); memory
// stays bounded; the HTTP counters agree with what the clients saw.
TEST_F(OverloadTest, HttpCallsBeyondTheLimitAre429AtOnceAndTheRestAnsweredInFull) {
  const int http_port = server_->WaitForLogNumber(
      std::regex("HTTP API on \\S+ \\(port (\\d+)"), absl::Seconds(5));
  ASSERT_GT(http_port, 0) << server_->log();
  v1::AnalyzeResponse reference;
  std::vector<double> before;
  for (int i = 0; i < 3; ++i) before.push_back(TimedCall(&reference));
  ASSERT_GT(reference.faces_size(), 0);
  const int64_t rss_before = server_->MemoryBytes("VmRSS");
  const double rate = 5 * std::max(1u, std::thread::hardware_concurrency()) / Median(before);

  constexpr int kClients = 4 * kMaxConcurrentCalls;
  const absl::Duration interval = absl::Seconds(kClients / rate);  // each client's
  std::mutex mu;
  std::vector<double> accepted, refused;
  std::vector<std::string> other;
  int wrong_answers = 0;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> peak{0};
  std::thread sampler([&] {
    while (!stop.load()) {
      peak = std::max(peak.load(), server_->MemoryBytes("VmRSS"));
      absl::SleepFor(absl::Milliseconds(20));
    }
  });
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      httplib::Client client("127.0.0.1", http_port);
      client.set_keep_alive(false);
      client.set_read_timeout(60, 0);
      absl::Time next = absl::Now() + interval * i / kClients;
      while (!stop.load()) {
        absl::SleepFor(next - absl::Now());
        next = std::max(next + interval, absl::Now());
        if (stop.load()) break;
        const absl::Time start = absl::Now();
        httplib::Result r =
            client.Post("/v1/analyze", request_.image().encoded(), "image/jpeg");
        const double latency = absl::ToDoubleSeconds(absl::Now() - start);
        std::lock_guard<std::mutex> lock(mu);
        if (r && r->status == 200) {
          accepted.push_back(latency);
          v1::AnalyzeResponse answer;
          if (!google::protobuf::util::JsonStringToMessage(r->body, &answer).ok() ||
              !SameAnswer(answer, reference)) {
            ++wrong_answers;
          }
        } else if (r && r->status == 429 && ReasonOf(r->body) == "TOO_MANY_CALLS") {
          refused.push_back(latency);
        } else {
          other.push_back(r ? absl::StrCat(r->status, " ", r->body.substr(0, 200))
                            : absl::StrCat("httplib error ", static_cast<int>(r.error())));
        }
      }
    });
  }
  absl::SleepFor(absl::Seconds(6));
  stop = true;
  for (std::thread& t : clients) t.join();
  sampler.join();

  std::printf("HTTP, offered %.0f calls/s by %d clients for 6 s: %zu answered (latency p50 %.0f ms, max %.0f ms), "
              "%zu refused with 429 (p50 %.1f ms, p99 %.1f ms), %zu other; peak RSS %.0f MiB "
              "(%.0f before)\n",
              rate, kClients, accepted.size(), Percentile(accepted, 50) * 1e3,
              Percentile(accepted, 100) * 1e3, refused.size(), Percentile(refused, 50) * 1e3,
              Percentile(refused, 99) * 1e3, other.size(), peak.load() / 1048576.0,
              rss_before / 1048576.0);
  EXPECT_TRUE(other.empty()) << other.size() << " other outcomes, e.g. " << other.front();
  EXPECT_EQ(wrong_answers, 0);
  ASSERT_FALSE(accepted.empty());
  ASSERT_GT(refused.size(), accepted.size()) << "the offered load was not an overload";
  EXPECT_LT(Percentile(refused, 99), Percentile(accepted, 50) / 4) << "refusals are not quick";
  EXPECT_LT(Percentile(accepted, 100), 2.0 * kMaxConcurrentCalls * Median(before) + 1.0)
      << "accepted latency grows with the offered load";
  EXPECT_LT(peak.load(), rss_before + (512 << 20));

  const std::string metrics = Scrape();
  EXPECT_EQ(MetricSum(metrics, "faceserve_http_requests_total",
                      {"route=\"/v1/analyze\"", "status=\"429\""}),
            refused.size());
  EXPECT_EQ(MetricSum(metrics, "faceserve_http_requests_total",
                      {"route=\"/v1/analyze\"", "status=\"200\""}),
            accepted.size());
  EXPECT_EQ(MetricSum(metrics, "faceserve_requests_in_flight"), 0);
  EXPECT_EQ(HealthCheck(channel_, ""), testing::kServing);
}

}  // namespace
}  // namespace faceserve
