#include "server/metrics.h"

#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faceserve {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kFamilies[] = {
    "faceserve_stage_duration_seconds", "faceserve_queue_wait_seconds",
    "faceserve_batch_execution_seconds", "faceserve_batch_size",
    "faceserve_faces_per_image",        "faceserve_request_duration_seconds",
    "faceserve_requests_total",         "faceserve_dropped_items_total",
    "faceserve_requests_in_flight",     "faceserve_queue_depth",
    "faceserve_preheat_duration_seconds", "faceserve_model_info",
    "faceserve_build_info",
};

void RecordOneOfEach(Metrics& m) {
  m.OnBatch("ssd_mobilenetv1", 3, {absl::Milliseconds(1), absl::Milliseconds(2),
                                   absl::Milliseconds(3)},
            absl::Milliseconds(20));
  m.OnDrop("ssd_mobilenetv1", DropReason::kDeadline);
  m.OnQueueDepth("ssd_mobilenetv1", 7);
  m.OnStage("detector", "ssd_mobilenetv1", absl::Milliseconds(25));
  m.OnFacesPerImage(2);
  m.OnRequest("Analyze", absl::StatusCode::kOk, absl::Milliseconds(30));
  m.AddRequestsInFlight(1);
  m.SetPreheatDuration(absl::Seconds(2));
  m.SetModelInfo({{"ssd_mobilenetv1", "1.0.0", "cpu", "float32", "detector"}});
  m.SetBuildInfo("0.1.0", "2.1.0", "1.51.1");
}

// prometheus-cpp leaves out families without any series, so each family is
// given one first.
TEST(MetricsTest, ScrapeHasEveryFamily) {
  auto metrics = Metrics::Create();
  RecordOneOfEach(*metrics);
  const std::string text = metrics->Scrape();
  for (const char* family : kFamilies) {
    EXPECT_THAT(text, HasSubstr(absl::StrCat("# TYPE ", family, " "))) << family;
  }
}

TEST(MetricsTest, RecordsValuesWithTheirLabels) {
  auto metrics = Metrics::Create();
  RecordOneOfEach(*metrics);
  const std::string text = metrics->Scrape();
  EXPECT_THAT(text, HasSubstr("faceserve_requests_total{code=\"OK\",rpc=\"Analyze\"} 1"));
  EXPECT_THAT(text, HasSubstr("faceserve_dropped_items_total{model=\"ssd_mobilenetv1\","
                              "reason=\"deadline\"} 1"));
  EXPECT_THAT(text, HasSubstr("faceserve_queue_depth{model=\"ssd_mobilenetv1\"} 7"));
  EXPECT_THAT(text, HasSubstr("faceserve_requests_in_flight 1"));
  EXPECT_THAT(text, HasSubstr("faceserve_preheat_duration_seconds 2"));
  EXPECT_THAT(text, HasSubstr("faceserve_batch_size_count{model=\"ssd_mobilenetv1\"} 1"));
  EXPECT_THAT(text, HasSubstr("faceserve_batch_size_sum{model=\"ssd_mobilenetv1\"} 3"));
  EXPECT_THAT(text, HasSubstr("faceserve_queue_wait_seconds_count{model=\"ssd_mobilenetv1\"} 3"));
  EXPECT_THAT(text, HasSubstr("faceserve_stage_duration_seconds_count{model=\"ssd_mobilenetv1\","
                              "stage=\"detector\"} 1"));
  EXPECT_THAT(text, HasSubstr("faceserve_model_info{device=\"cpu\",dtype=\"float32\","
                              "model=\"ssd_mobilenetv1\",role=\"detector\",version=\"1.0.0\"} 1"));
  EXPECT_THAT(text, HasSubstr("faceserve_build_info{grpc_version=\"1.51.1\","
                              "torch_version=\"2.1.0\",version=\"0.1.0\"} 1"));
}

TEST(MetricsTest, BatchSizeBucketsArePowersOfTwoUpTo64) {
  auto metrics = Metrics::Create();
  metrics->OnBatch("m", 5, {}, absl::Milliseconds(1));
  const std::string text = metrics->Scrape();
  for (const char* le : {"1", "2", "4", "8", "16", "32", "64", "+Inf"}) {
    EXPECT_THAT(text, HasSubstr(absl::StrCat("faceserve_batch_size_bucket{model=\"m\",le=\"", le,
                                             "\"}")))
        << le;
  }
  EXPECT_THAT(text, HasSubstr("faceserve_batch_size_bucket{model=\"m\",le=\"4\"} 0"));
  EXPECT_THAT(text, HasSubstr("faceserve_batch_size_bucket{model=\"m\",le=\"8\"} 1"));
}

TEST(MetricsTest, LatencyBucketsSpan100MicrosecondsToAbout30Seconds) {
  auto metrics = Metrics::Create();
  metrics->OnRequest("Embed", absl::StatusCode::kOk, absl::Microseconds(50));
  const std::string text = metrics->Scrape();
  EXPECT_THAT(text, HasSubstr("faceserve_request_duration_seconds_bucket{rpc=\"Embed\","
                              "le=\"0.0001\"} 1"));
  EXPECT_THAT(text, HasSubstr("faceserve_request_duration_seconds_bucket{rpc=\"Embed\","
                              "le=\"26.2144\"} 1"));
}

TEST(MetricsTest, EveryDropReasonHasItsLabel) {
  auto metrics = Metrics::Create();
  for (DropReason r : {DropReason::kDeadline, DropReason::kCancelled, DropReason::kQueueFull,
                       DropReason::kShutdown}) {
    metrics->OnDrop("m", r);
  }
  const std::string text = metrics->Scrape();
  for (const char* reason : {"deadline", "cancelled", "queue_full", "shutdown"}) {
    EXPECT_THAT(text, HasSubstr(absl::StrCat("faceserve_dropped_items_total{model=\"m\",reason=\"",
                                             reason, "\"} 1")));
  }
}

TEST(MetricsTest, ModelInfoStartsDropCountersAndQueueDepthAtZero) {
  auto metrics = Metrics::Create();
  metrics->SetModelInfo({{"face_recognition", "1", "cpu", "float32", "embedding"}});
  const std::string text = metrics->Scrape();
  for (const char* reason : {"deadline", "cancelled", "queue_full", "shutdown"}) {
    EXPECT_THAT(text, HasSubstr(absl::StrCat("faceserve_dropped_items_total{"
                                             "model=\"face_recognition\",reason=\"",
                                             reason, "\"} 0")));
  }
  EXPECT_THAT(text, HasSubstr("faceserve_queue_depth{model=\"face_recognition\"} 0"));
}

TEST(MetricsTest, RequestCodesUseCanonicalNames) {
  auto metrics = Metrics::Create();
  metrics->OnRequest("Verify", absl::StatusCode::kResourceExhausted, absl::Milliseconds(1));
  metrics->OnRequest("Verify", absl::StatusCode::kResourceExhausted, absl::Milliseconds(1));
  EXPECT_THAT(metrics->Scrape(),
              HasSubstr("faceserve_requests_total{code=\"RESOURCE_EXHAUSTED\",rpc=\"Verify\"} 2"));
}

TEST(MetricsTest, ConcurrentUpdatesOfTheSameChildAreAllCounted) {
  auto metrics = Metrics::Create();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&metrics, t] {
      for (int i = 0; i < 1000; ++i) {
        metrics->OnRequest("Analyze", absl::StatusCode::kOk, absl::Milliseconds(1));
        metrics->OnStage("predictor", absl::StrCat("model", t % 2), absl::Milliseconds(1));
      }
    });
  }
  for (auto& t : threads) t.join();
  const std::string text = metrics->Scrape();
  EXPECT_THAT(text, HasSubstr("faceserve_requests_total{code=\"OK\",rpc=\"Analyze\"} 4000"));
  EXPECT_THAT(text, HasSubstr("faceserve_stage_duration_seconds_count{model=\"model0\","
                              "stage=\"predictor\"} 2000"));
}

}  // namespace
}  // namespace faceserve
