// RealServer: a real faceserve in this process, with the exported models on
// CPU, listening on loopback ports, called over real gRPC: the configuration
// FACESERVE_CONFIG names (relative to the source tree; config/default.yaml
// when unset), its models from FACESERVE_MODELS_DIR (models/exported), and
// the test's own overrides. Loading and preheating take seconds, so a test
// binary makes one and keeps it (see Get in each test). What health said
// before preheat is recorded for its test.
#ifndef FACESERVE_TESTS_TESTING_REAL_SERVER_H_
#define FACESERVE_TESTS_TESTING_REAL_SERVER_H_

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "core/config/config.h"
#include "core/pipeline/face_pipeline.h"
#include "core/torch/torch_model_loader.h"
#include "faceserve/v1/face_service.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "server/face_server.h"
#include "server/metrics.h"
#include "server/probe_server.h"

namespace faceserve::testing {

// The environment variable's value, or `fallback` when unset or empty.
inline std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

class RealServer {
 public:
  using HealthCheckResponse = grpc::health::v1::HealthCheckResponse;

  explicit RealServer(const std::vector<std::string>& overrides = {}) {
    const std::filesystem::path source = FACESERVE_SOURCE_DIR;
    std::vector<std::string> sets{
        "server.listen=127.0.0.1:0", "metrics.listen=127.0.0.1:0",
        "models_dir=" + EnvOr("FACESERVE_MODELS_DIR", (source / "models/exported").string()),
        "device.device=cpu"};
    sets.insert(sets.end(), overrides.begin(), overrides.end());
    absl::StatusOr<Config> config = LoadConfig(
        (source / EnvOr("FACESERVE_CONFIG", "config/default.yaml")).string(), sets);
    if (!config.ok()) {
      error = config.status().ToString();
      return;
    }
    config_ = *config;
    metrics_ = Metrics::Create();
    if (!config_.metrics.listen.empty()) {
      absl::StatusOr<std::unique_ptr<ProbeServer>> probes = ProbeServer::Start(
          config_.metrics.listen,
          ProbeHandlers{[m = metrics_.get()] { return m->Scrape(); },
                        [this] { return ready_.load(); }, nullptr});
      if (!probes.ok()) {
        error = probes.status().ToString();
        return;
      }
      probes_ = *std::move(probes);
    }
    cpu_slots_ = MakeCpuRunSlots(config_.device);
    absl::StatusOr<std::unique_ptr<FacePipeline>> pipeline =
        FacePipeline::Create(config_, MakeTorchModelLoader(config_.device, cpu_slots_.get()),
                             metrics_.get(), metrics_.get());
    if (!pipeline.ok()) {
      error = pipeline.status().ToString();
      return;
    }
    pipeline_ = *std::move(pipeline);
    absl::StatusOr<std::unique_ptr<FaceServer>> server =
        FaceServer::Start(config_, pipeline_.get(), metrics_.get());
    if (!server.ok()) {
      error = server.status().ToString();
      return;
    }
    server_ = *std::move(server);
    address_ = "127.0.0.1:" + std::to_string(server_->port());
    auto channel = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
    stub_ = v1::FaceService::NewStub(channel);
    health_ = grpc::health::v1::Health::NewStub(channel);
    health_before_preheat = Check();
    if (absl::Status s = pipeline_->Preheat(); !s.ok()) {
      error = s.ToString();
      return;
    }
    server_->SetServing(true);
    ready_.store(true);
  }

  v1::FaceService::Stub& stub() { return *stub_; }
  grpc::health::v1::Health::Stub& health() { return *health_; }
  const Config& config() const { return config_; }
  const std::string& address() const { return address_; }  // host:port of the gRPC port
  int metrics_port() const { return probes_ ? probes_->port() : 0; }

  HealthCheckResponse::ServingStatus health_before_preheat = HealthCheckResponse::UNKNOWN;
  std::string error;  // empty when the server is serving

 private:
  HealthCheckResponse::ServingStatus Check() {
    grpc::ClientContext ctx;
    grpc::health::v1::HealthCheckRequest request;
    HealthCheckResponse response;
    grpc::Status s = health_->Check(&ctx, request, &response);
    return s.ok() ? response.status() : HealthCheckResponse::UNKNOWN;
  }

  Config config_;
  std::unique_ptr<Metrics> metrics_;
  std::atomic<bool> ready_{false};
  std::unique_ptr<ProbeServer> probes_;  // /metrics, /healthz, /readyz on metrics.listen
  std::unique_ptr<CpuRunSlots> cpu_slots_;  // outlives the pipeline's models
  std::unique_ptr<FacePipeline> pipeline_;
  std::unique_ptr<FaceServer> server_;
  std::string address_;
  std::unique_ptr<v1::FaceService::Stub> stub_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

}  // namespace faceserve::testing

#endif  // FACESERVE_TESTS_TESTING_REAL_SERVER_H_
