// Graceful shutdown of the real faceserve process: real models on CPU, a
// burst of Analyze calls over loopback, SIGTERM in the middle of it.
//
// Checks what server_main promises: health turns NOT_SERVING, new calls are
// refused with UNAVAILABLE, calls in flight finish within
// server.shutdown_grace_ms with their full answer, and the process exits 0.
// Every call of the burst ends either with the full answer (the same faces
// and predictions as a call made before the burst) or with UNAVAILABLE;
// only calls sent after SIGTERM that are still arriving when the port closes
// at the end may instead be CANCELLED, by gRPC itself.
//
// Needs the faceserve binary (FACESERVE_BINARY) and the exported models;
// registered with the label "models".
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/test_harness.h"
#include "tests/testing/same_answer.h"
#include "tests/testing/server_process.h"

namespace faceserve {
namespace {

using ::testing::HasSubstr;
using testing::AsyncCall;
using testing::HealthCheck;
using testing::SameAnswer;
using testing::ServerProcess;

const std::string kSourceDir = FACESERVE_SOURCE_DIR;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// faceserve on config/default.yaml, CPU, a free gRPC port, no metrics or
// HTTP port, the exported models, and `sets` (--set key=value).
std::vector<std::string> ServerArgs(const std::vector<std::string>& sets) {
  std::vector<std::string> args = {FACESERVE_BINARY, "--config", kSourceDir + "/config/default.yaml"};
  for (const std::string& set :
       {std::string("server.listen=127.0.0.1:0"), std::string("metrics.listen="),
        std::string("http.listen="), std::string("device.device=cpu"),
        "models_dir=" + kSourceDir + "/models/exported"}) {
    args.insert(args.end(), {"--set", set});
  }
  for (const std::string& set : sets) args.insert(args.end(), {"--set", set});
  return args;
}

struct Outcome {
  grpc::Status status;
  v1::AnalyzeResponse response;
  absl::Time sent, done;
};

TEST(FaceserveSigtermTest, BurstSignalledMidwayGetsFullAnswersOrUnavailableAndExitsZero) {
  ServerProcess server(ServerArgs({"device.preheat=false", "server.shutdown_grace_ms=60000"}));
  ASSERT_GT(server.pid(), 0);
  const int port = server.WaitForPort(absl::Seconds(120));
  ASSERT_GT(port, 0) << server.log();
  const std::string address = absl::StrCat("127.0.0.1:", port);
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  ASSERT_TRUE(testing::WaitUntil([&] { return HealthCheck(channel, "") == testing::kServing; },
                                 absl::Seconds(120)))
      << server.log();
  auto stub = v1::FaceService::NewStub(channel);

  v1::AnalyzeRequest request;
  request.mutable_image()->set_encoded(
      ReadFile(kSourceDir + "/models/reference/node_modules/@vladmandic/face-api/demo/sample1.jpg"));
  ASSERT_FALSE(request.image().encoded().empty());
  v1::AnalyzeResponse reference;
  {
    auto ctx = testing::ContextWithTimeout(absl::Seconds(60));
    grpc::Status status = stub->Analyze(ctx.get(), request, &reference);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_GT(reference.faces_size(), 0);
  }

  // The burst: kInFlight calls in flight at all times, until told to stop.
  constexpr int kInFlight = 12;
  std::mutex mu;
  std::vector<std::shared_ptr<Outcome>> outcomes;
  std::atomic<int> answered{0};
  std::atomic<bool> stop{false};
  std::thread sender([&] {
    std::vector<std::unique_ptr<AsyncCall<v1::AnalyzeResponse>>> calls;
    std::atomic<int> running{0};
    while (!stop.load()) {
      if (running.load() >= kInFlight) {
        absl::SleepFor(absl::Milliseconds(1));
        continue;
      }
      auto outcome = std::make_shared<Outcome>();
      {
        std::lock_guard<std::mutex> lock(mu);
        outcomes.push_back(outcome);
      }
      calls.push_back(std::make_unique<AsyncCall<v1::AnalyzeResponse>>());
      AsyncCall<v1::AnalyzeResponse>* c = calls.back().get();
      c->ctx = testing::ContextWithTimeout(absl::Seconds(120));
      ++running;
      outcome->sent = absl::Now();
      stub->async()->Analyze(c->ctx.get(), &request, &outcome->response,
                             [c, outcome, &running, &answered](grpc::Status s) {
                               outcome->done = absl::Now();
                               outcome->status = s;
                               if (s.ok()) ++answered;
                               --running;  // before Notify: the sender may be gone after it
                               c->status = std::move(s);
                               c->done.Notify();
                             });
      // Refusals come back at once: do not spin the machine flat.
      absl::SleepFor(absl::Microseconds(500));
    }
    for (const auto& c : calls) EXPECT_TRUE(c->Wait(absl::Seconds(120)));
  });

  // Signal once the burst is well under way.
  ASSERT_TRUE(testing::WaitUntil([&] { return answered.load() >= 6; }, absl::Seconds(120)))
      << server.log();
  const absl::Time signalled = absl::Now();
  ASSERT_EQ(kill(server.pid(), SIGTERM), 0);

  // Health turns NOT_SERVING (or the server is already gone) at once.
  {
    auto fresh = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
    int health = testing::kServing;
    testing::WaitUntil(
        [&] {
          grpc::Status status;
          health = HealthCheck(fresh, "", &status);
          return health != testing::kServing;
        },
        absl::Seconds(5));
    EXPECT_NE(health, testing::kServing);
  }

  // Keep sending until the process has gone, and a little after.
  const bool exited = server.Exited(absl::Seconds(90));
  absl::SleepFor(absl::Milliseconds(200));
  stop = true;
  sender.join();
  const absl::Time exit_seen = absl::Now();
  ASSERT_TRUE(exited) << server.log();
  EXPECT_EQ(server.DescribeExit(), "exit status 0") << server.log();

  int ok = 0, refused = 0, cut_off = 0, finished_in_grace = 0, refused_after_signal = 0;
  for (const auto& o : outcomes) {
    // A call sent well before SIGTERM had been accepted by then: whether it
    // was still running at the signal or not, it gets its full answer.
    if (o->sent < signalled - absl::Milliseconds(250)) {
      EXPECT_TRUE(o->status.ok()) << o->status.error_code() << " " << o->status.error_message();
    }
    if (o->status.ok()) {
      ++ok;
      EXPECT_TRUE(SameAnswer(o->response, reference));
      if (o->sent < signalled && o->done > signalled) ++finished_in_grace;
    } else if (o->status.error_code() == grpc::StatusCode::CANCELLED) {
      // Still arriving when the server closed its port after the grace
      // period: gRPC cancels such calls itself (grpc::Server::Shutdown kills
      // pending work). Such calls were never accepted.
      ++cut_off;
    } else {
      // Refused: by the service while shutting down, or by the closed port.
      EXPECT_EQ(o->status.error_code(), grpc::StatusCode::UNAVAILABLE)
          << o->status.error_message();
      ++refused;
      if (o->sent > signalled) ++refused_after_signal;
    }
  }
  std::printf("burst of %zu calls: %d answered in full (%d in flight at SIGTERM), %d refused, "
              "%d cut off by the close; exit %.2f s after SIGTERM\n",
              outcomes.size(), ok, finished_in_grace, refused, cut_off,
              absl::ToDoubleSeconds(exit_seen - signalled));
  EXPECT_GT(finished_in_grace, 0) << "no call was in flight at SIGTERM";
  EXPECT_GT(refused_after_signal, 0) << "no call was refused after SIGTERM";
  const std::string log = server.log();
  // The server had calls in flight when the shutdown began, and waited.
  EXPECT_THAT(log, ::testing::ContainsRegex("waiting up to [^ ]+ for [0-9]+ call\\(s\\) in flight"));
  EXPECT_THAT(log, HasSubstr("received Terminated"));
  EXPECT_THAT(log, HasSubstr("every call finished"));
  EXPECT_THAT(log, HasSubstr("exiting with status 0"));
}

// SIGTERM while the models are still preheating: the preheat stops between
// batch sizes instead of running to the end, and the process exits 0 within
// the grace period. The detector's batch limit is raised so that preheating
// alone would take a minute or more on CPU (every size 1..32).
TEST(FaceserveSigtermTest, SignalDuringALongPreheatStopsItAndExitsZeroWithinTheGrace) {
  constexpr int kGraceMs = 10000;
  ServerProcess server(ServerArgs({"device.preheat=true", "detector.batching.max_batch_size=32",
                                   absl::StrCat("server.shutdown_grace_ms=", kGraceMs)}));
  ASSERT_GT(server.pid(), 0);
  ASSERT_GT(server.WaitForPort(absl::Seconds(120)), 0) << server.log();
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return server.log().find("preheating models") != std::string::npos; },
      absl::Seconds(60)))
      << server.log();
  const absl::Time signalled = absl::Now();
  ASSERT_EQ(kill(server.pid(), SIGTERM), 0);
  ASSERT_TRUE(server.Exited(absl::Milliseconds(kGraceMs))) << server.log();
  const absl::Duration took = absl::Now() - signalled;
  std::printf("exit %.2f s after SIGTERM during preheat\n", absl::ToDoubleSeconds(took));
  EXPECT_EQ(server.DescribeExit(), "exit status 0") << server.log();
  const std::string log = server.log();
  EXPECT_THAT(log, HasSubstr("received Terminated"));
  EXPECT_THAT(log, HasSubstr("preheat stopped after"));
  EXPECT_THAT(log, ::testing::Not(HasSubstr("preheated in")));
  EXPECT_THAT(log, ::testing::Not(HasSubstr("preheat failed")));
  EXPECT_THAT(log, HasSubstr("exiting with status 0"));
}

// The kernel may hand a process's SIGTERM to any of its threads, including
// those libraries start before main() with every signal open (OpenBLAS's
// pool): there its default action would kill the process without a graceful
// stop (seen in the sanitizer build). So the SIGTERM goes to a thread other
// than main (tgkill): one whose mask leaves it open where there is such a
// thread, else the newest. It must stop the server gracefully all the same.
TEST(FaceserveSigtermTest, SignalToAnyThreadStopsGracefully) {
  ServerProcess server(ServerArgs({"device.preheat=false"}));
  ASSERT_GT(server.pid(), 0);
  ASSERT_GT(server.WaitForPort(absl::Seconds(120)), 0) << server.log();
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return server.log().find("health SERVING") != std::string::npos; },
      absl::Seconds(60)))
      << server.log();
  // Threads by id; the main thread's id is the pid. One other thread gets
  // the signal: the first whose mask leaves SIGTERM open, else the newest.
  std::vector<pid_t> others;
  pid_t open_to_sigterm = 0;
  for (const auto& entry : std::filesystem::directory_iterator(
           "/proc/" + std::to_string(server.pid()) + "/task")) {
    const pid_t tid = std::stoi(entry.path().filename().string());
    if (tid == server.pid()) continue;
    others.push_back(tid);
    std::istringstream status(ReadFile(entry.path().string() + "/status"));
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("SigBlk:", 0) != 0) continue;
      const uint64_t blocked = std::stoull(line.substr(7), nullptr, 16);
      if ((blocked & (uint64_t{1} << (SIGTERM - 1))) == 0 && open_to_sigterm == 0) {
        open_to_sigterm = tid;
      }
    }
  }
  ASSERT_FALSE(others.empty());
  const pid_t target = open_to_sigterm != 0 ? open_to_sigterm
                                            : *std::max_element(others.begin(), others.end());
  std::printf("%zu threads besides main; SIGTERM to thread %d (%s)\n", others.size(), target,
              open_to_sigterm != 0 ? "its mask leaves SIGTERM open" : "the newest");
  ASSERT_EQ(syscall(SYS_tgkill, server.pid(), target, SIGTERM), 0);
  ASSERT_TRUE(server.Exited(absl::Seconds(20))) << server.log();
  EXPECT_EQ(server.DescribeExit(), "exit status 0") << server.log();
  const std::string log = server.log();
  EXPECT_THAT(log, HasSubstr("received Terminated"));
  EXPECT_THAT(log, HasSubstr("exiting with status 0"));
}

}  // namespace
}  // namespace faceserve
