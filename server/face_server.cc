#include "server/face_server.h"

#include <algorithm>
#include <climits>
#include <fstream>
#include <mutex>
#include <sstream>
#include <utility>

#include <google/protobuf/descriptor.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/str_cat.h"
#include "server/api_key_service.h"
#include "server/face_service.h"
#include "server/gallery_service.h"
#include "server/log.h"

namespace faceserve {
namespace {

// After a clean grace period, the longest the connections get to close
// gracefully (see Shutdown).
constexpr absl::Duration kCloseDrain = absl::Seconds(1);

// Both are process-wide and not thread-safe in gRPC: do them once.
void InitGrpcPluginsOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  });
}

// The whole of a PEM file named by configuration key `key`.
absl::StatusOr<std::string> ReadPemFile(const std::string& path, const char* key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(key, ": cannot read '", path, "'"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::NotFoundError(absl::StrCat(key, ": cannot read '", path, "'"));
  if (text.str().find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": '", path, "' is not a PEM file (no -----BEGIN line)"));
  }
  return text.str();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsConfig& tls) {
  if (tls.cert_file.empty() && tls.key_file.empty() && tls.client_ca_file.empty()) {
    return grpc::InsecureServerCredentials();
  }
  if (tls.cert_file.empty() || tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        "server.tls: cert_file and key_file must both be set (client_ca_file needs them too)");
  }
  absl::StatusOr<std::string> cert = ReadPemFile(tls.cert_file, "server.tls.cert_file");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPemFile(tls.key_file, "server.tls.key_file");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back({*std::move(key), *std::move(cert)});
  if (!tls.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadPemFile(tls.client_ca_file, "server.tls.client_ca_file");
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *std::move(ca);
    options.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::unique_ptr<FaceServer>> FaceServer::Start(const Config& config,
                                                              FacePipeline* pipeline,
                                                              Metrics* metrics,
                                                              GalleryServing galleries,
                                                              AccessControl* access) {
  if (pipeline == nullptr) return absl::InvalidArgumentError("FaceServer: no pipeline");
  if (config.server.max_concurrent_calls <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "server.max_concurrent_calls: must be > 0, got ", config.server.max_concurrent_calls));
  }
  if (config.server.max_message_bytes <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "server.max_message_bytes: must be > 0, got ", config.server.max_message_bytes));
  }
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(config.server.tls);
  if (!credentials.ok()) return credentials.status();
  const bool tls = !config.server.tls.cert_file.empty();
  InitGrpcPluginsOnce();

  std::unique_ptr<FaceServer> server(new FaceServer());
  server->service_ =
      std::make_unique<FaceServiceImpl>(config.server, pipeline, metrics, galleries.identifier,
                                        access);
  if (galleries.galleries != nullptr && galleries.identifier != nullptr) {
    server->gallery_service_ = std::make_unique<GalleryServiceImpl>(
        server->service_->gate(), galleries.identifier, galleries.galleries, metrics);
    server->gallery_service_->PublishFaceCounts();
  }
  server->api_key_service_ =
      std::make_unique<ApiKeyServiceImpl>(server->service_->gate(), access);

  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.server.listen, *credentials, &server->port_);
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<int64_t>(config.server.max_message_bytes, INT_MAX)));
  builder.RegisterService(server->service_.get());
  if (server->gallery_service_ != nullptr) builder.RegisterService(server->gallery_service_.get());
  builder.RegisterService(server->api_key_service_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    if (server->server_ != nullptr) server->server_->Shutdown();
    if (tls) {
      // gRPC parses the PEM files only here, and says why on its log alone.
      return absl::InvalidArgumentError(absl::StrCat(
          "server.tls: cannot listen on \"", config.server.listen,
          "\" with TLS: the address cannot be bound, or the certificate (",
          config.server.tls.cert_file, "), its key (", config.server.tls.key_file,
          ") or the client CA are unusable or do not belong together"));
    }
    return absl::UnavailableError(
        absl::StrCat("server.listen: cannot listen on \"", config.server.listen, "\""));
  }
  // The default health service starts "" as SERVING: not until preheated.
  grpc::HealthCheckServiceInterface* health = server->server_->GetHealthCheckService();
  if (health != nullptr) {
    health->SetServingStatus("", false);
    health->SetServingStatus(kServiceName, false);
    if (server->gallery_service_ != nullptr) health->SetServingStatus(kGalleryServiceName, false);
    health->SetServingStatus(kApiKeyServiceName, false);
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
  if (gallery_service_ != nullptr) health->SetServingStatus(kGalleryServiceName, serving);
  health->SetServingStatus(kApiKeyServiceName, serving);
}

int FaceServer::in_flight() const { return service_->in_flight(); }

absl::Status FaceServer::AdmissionPreview() const { return service_->gate()->Preview(); }

std::shared_ptr<grpc::Channel> FaceServer::InProcessChannel() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  return server_->InProcessChannel(args);
}

std::vector<const google::protobuf::ServiceDescriptor*> FaceServer::services() const {
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  std::vector<const google::protobuf::ServiceDescriptor*> out = {
      pool->FindServiceByName(v1::FaceService::service_full_name())};
  if (gallery_service_ != nullptr) {
    out.push_back(pool->FindServiceByName(v1::GalleryService::service_full_name()));
  }
  out.push_back(pool->FindServiceByName(v1::ApiKeyService::service_full_name()));
  return out;
}

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
  // After a clean wait no admitted call is left, but the last answers may
  // still sit in the transport's write buffers: a deadline of "now" makes
  // gRPC cancel everything and drop the connections at once, losing them
  // (the client sees UNAVAILABLE for a call that was answered). A short
  // drain lets the connections close gracefully (GOAWAY, buffers flushed,
  // refusals in transit delivered); Shutdown returns as soon as they have.
  const absl::Duration drain = clean_shutdown_ ? kCloseDrain : absl::ZeroDuration();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + drain));
  return clean_shutdown_;
}

}  // namespace faceserve
