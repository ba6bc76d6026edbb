// FaceServer: the gRPC server's lifecycle, shared by server_main.cc and the
// tests. It serves faceserve.v1.FaceService (FaceServiceImpl), with
// galleries faceserve.v1.GalleryService (GalleryServiceImpl),
// faceserve.v1.ApiKeyService (ApiKeyServiceImpl), the standard health
// service (grpc.health.v1.Health) and server reflection. With access control,
// every call of the three faceserve services is checked against its API key;
// health and reflection need none.
//
// Health: "" and "faceserve.v1.FaceService" are NOT_SERVING from Start()
// until SetServing(true) (main calls it once Preheat() succeeded), and
// NOT_SERVING again, for good, once Shutdown() begins.
//
// Ownership: `pipeline` and `metrics` are not owned and must outlive the
// FaceServer; `metrics` may be null. FaceServer never shuts the pipeline
// down: the caller does that after Shutdown().
// Thread-safety: all methods are safe to call concurrently; Shutdown() is
// idempotent (later calls wait for the first to complete).
#ifndef FACESERVE_SERVER_FACE_SERVER_H_
#define FACESERVE_SERVER_FACE_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/auth/access_control.h"
#include "core/config/config.h"
#include "core/gallery/galleries.h"
#include "core/identification/identifier.h"
#include "core/pipeline/face_pipeline.h"

namespace google::protobuf {
class ServiceDescriptor;
}  // namespace google::protobuf

namespace grpc {
class Channel;
class Server;
class ServerCredentials;
}  // namespace grpc

namespace faceserve {

// Credentials for the gRPC port from `tls`: insecure when no file is set;
// TLS with cert_file/key_file; and when client_ca_file is set, mutual TLS
// that requires and verifies a client certificate signed by that CA. Reads
// the files: NOT_FOUND names the key of an unreadable one, INVALID_ARGUMENT
// one that is not PEM or an incomplete set. gRPC checks that the certificate
// and key match only when the port is opened (FaceServer::Start).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsConfig& tls);

class ApiKeyServiceImpl;
class FaceServiceImpl;
class GalleryServiceImpl;
class Metrics;

// The galleries to serve: both set, or both null (no GalleryService).
// Not owned; they must outlive the FaceServer.
struct GalleryServing {
  Galleries* galleries = nullptr;
  Identifier* identifier = nullptr;
};

class FaceServer {
 public:
  // The service name used for health checks besides "".
  static constexpr const char* kServiceName = "faceserve.v1.FaceService";
  static constexpr const char* kGalleryServiceName = "faceserve.v1.GalleryService";
  static constexpr const char* kApiKeyServiceName = "faceserve.v1.ApiKeyService";

  // Binds `config.server.listen` (port 0: a free port, see port()) and starts
  // serving, over TLS when `config.server.tls.cert_file` is set (mutual TLS
  // when `client_ca_file` is set too; see MakeServerCredentials). Fails with
  // UNAVAILABLE when the address cannot be bound, NOT_FOUND when a TLS file
  // cannot be read, and INVALID_ARGUMENT for unusable server settings
  // (including TLS files that gRPC cannot use). `access` (not owned, may be
  // null: every call allowed) checks API keys.
  static absl::StatusOr<std::unique_ptr<FaceServer>> Start(const Config& config,
                                                           FacePipeline* pipeline,
                                                           Metrics* metrics,
                                                           GalleryServing galleries = {},
                                                           AccessControl* access = nullptr);

  // Shuts down with no grace period if Shutdown() was not called.
  ~FaceServer();
  FaceServer(const FaceServer&) = delete;
  FaceServer& operator=(const FaceServer&) = delete;

  // The bound port.
  int port() const { return port_; }

  // Sets the health of "" and kServiceName. Ignored after Shutdown() began.
  void SetServing(bool serving);

  // Graceful stop: health NOT_SERVING, new calls fail with UNAVAILABLE, calls
  // in flight get up to `grace` to finish; then the gRPC server stops: when
  // every call finished in time, its connections get up to a second to
  // deliver the last answers and close; otherwise what is left is cancelled
  // at once (the pipeline sees is_cancelled), waiting for those calls to
  // finish. Returns true when every call finished within `grace`.
  bool Shutdown(absl::Duration grace);

  // Calls accepted and not yet finished.
  int in_flight() const;
  // What a call arriving now would be refused with (OK: it would be
  // admitted), without admitting it: CallGate::Preview.
  absl::Status AdmissionPreview() const;

  // A channel to this server within the process (the HTTP API's way in),
  // with no message size limit of its own. Valid until Shutdown().
  std::shared_ptr<grpc::Channel> InProcessChannel();
  // The faceserve services served (not health or reflection).
  std::vector<const google::protobuf::ServiceDescriptor*> services() const;

 private:
  FaceServer() = default;

  // Constant after Start().
  std::unique_ptr<FaceServiceImpl> service_;
  std::unique_ptr<GalleryServiceImpl> gallery_service_;  // null without galleries
  std::unique_ptr<ApiKeyServiceImpl> api_key_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;

  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  bool clean_shutdown_ ABSL_GUARDED_BY(mu_) = true;
};

}  // namespace faceserve

#endif  // FACESERVE_SERVER_FACE_SERVER_H_
