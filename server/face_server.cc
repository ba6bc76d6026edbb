#include "server/face_server.h"

#include <algorithm>
#include <climits>
#include <mutex>
#include <utility>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/str_cat.h"
#include "server/face_service.h"
#include "server/log.h"

namespace faceserve {
namespace {

// Both are process-wide and not thread-safe in gRPC: do them once.
void InitGrpcPluginsOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<FaceServer>> FaceServer::Start(const Config& config,
                                                              FacePipeline* pipeline,
                                                              Metrics* metrics) {
  if (pipeline == nullptr) return absl::InvalidArgumentError("FaceServer: no pipeline");
  if (config.server.max_concurrent_calls <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "server.max_concurrent_calls: must be > 0, got ", config.server.max_concurrent_calls));
  }
  if (config.server.max_message_bytes <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "server.max_message_bytes: must be > 0, got ", config.server.max_message_bytes));
  }
  InitGrpcPluginsOnce();

  std::unique_ptr<FaceServer> server(new FaceServer());
  server->service_ = std::make_unique<FaceServiceImpl>(config.server, pipeline, metrics);

  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.server.listen, grpc::InsecureServerCredentials(),
                           &server->port_);
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<int64_t>(config.server.max_message_bytes, INT_MAX)));
  builder.RegisterService(server->service_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    if (server->server_ != nullptr) server->server_->Shutdown();
    return absl::UnavailableError(
        absl::StrCat("server.listen: cannot listen on \"", config.server.listen, "\""));
  }
  // The default health service starts "" as SERVING: not until preheated.
  grpc::HealthCheckServiceInterface* health = server->server_->GetHealthCheckService();
  if (health != nullptr) {
    health->SetServingStatus("", false);
    health->SetServingStatus(kServiceName, false);
  }
  return server;
}

FaceServer::~FaceServer() {
  if (server_ != nullptr) Shutdown(absl::ZeroDuration());
}

void FaceServer::SetServing(bool serving) {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus("", serving);
  health->SetServingStatus(kServiceName, serving);
}

int FaceServer::in_flight() const { return service_->in_flight(); }

bool FaceServer::Shutdown(absl::Duration grace) {
  // Holding mu_ throughout makes concurrent callers wait for the first.
  absl::MutexLock lock(&mu_);
  if (shut_down_) return clean_shutdown_;
  shut_down_ = true;
  if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
    health->Shutdown();  // NOT_SERVING for every name, for good
  }
  service_->BeginShutdown();
  const int pending = service_->in_flight();
  if (pending > 0) {
    LogEvent(absl::StrCat("waiting up to ", absl::FormatDuration(grace), " for ", pending,
                          " call(s) in flight"));
  }
  clean_shutdown_ = service_->WaitForIdle(absl::Now() + grace);
  if (!clean_shutdown_) {
    LogEvent(absl::StrCat("grace period over, cancelling ", service_->in_flight(),
                          " call(s) in flight"));
  }
  // Stops listening, cancels what is left and waits for every reactor.
  server_->Shutdown(absl::ToChronoTime(absl::Now()));
  return clean_shutdown_;
}

}  // namespace faceserve
