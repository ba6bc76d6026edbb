// HttpApi: faceserve's HTTP/JSON API (issue 31) on `http.listen`, beside
// gRPC. Every unary RPC is a route (server/http_routes.h); a request is
// turned into the RPC's request message and sent to the gRPC server itself
// over its in-process channel, so that HTTP calls share everything gRPC
// calls have: the one in-flight budget (server.max_concurrent_calls), API
// keys (the Authorization header becomes the call's authorization
// metadata), deadlines (header X-Timeout-Ms; else server.default_deadline_ms),
// the request metrics, and every validation. Errors come back with the HTTP
// status of their gRPC code and google.rpc.Status as JSON
// (server/http_status.h).
//
// Bodies: JSON (Content-Type application/json, protobuf's JSON mapping:
// bytes as base64, either field-name style), or for a route whose request
// has an `image` field, the image itself (image/*, application/octet-stream)
// with the other fields as query parameters (options.predictors=landmarks,
// repeated by repeating the key), or a multipart/form-data upload whose
// part "image" is the image and whose other parts are such fields. A body
// over the size limit is refused from its Content-Length before it is read
// (413). GET /openapi.json describes every route (server/http_openapi.h);
// GET / is the browser page (server/web/, server/web_assets.h).
//
// Connections are served by cpp-httplib (Debian's libcpp-httplib) on a pool
// of `http.threads` threads with bounded keep-alive; over TLS (and mutual
// TLS) with server.tls's files when they are set. CORS headers only for the
// origins of http.cors_origins.
//
// Thread-safety: Start/Stop from one thread; the handlers run on the pool.
// The channel's server must outlive Stop().
#ifndef FACESERVE_SERVER_HTTP_API_H_
#define FACESERVE_SERVER_HTTP_API_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/config/config.h"
#include "server/http_listener.h"
#include "server/http_routes.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace faceserve {

// The HTTP settings of `config` with their defaults resolved: threads (0:
// server.max_concurrent_calls + 64, so that idle keep-alive connections
// cannot take every thread from the calls the server would admit).
HttpConfig ResolvedHttpConfig(const Config& config);
// The largest body read: server.max_message_bytes × 4/3 (a JSON body holds
// the image in base64) + 64 KiB.
int64_t HttpMaxBodyBytes(const Config& config);

// Told about every HTTP request served: its route's path ("other" for
// unknown paths), the HTTP status and how long it took.
using HttpRequestObserver =
    std::function<void(const std::string& route, int status, absl::Duration latency)>;

// What a call arriving now would be refused with (FaceServer's
// AdmissionPreview): a route's request refused by it is answered before its
// body is read, so that refusals under overload cost next to nothing.
using AdmissionPreview = std::function<absl::Status()>;

class HttpApi {
 public:
  // Binds `config.listen` ("host:port"; port 0 picks one) and serves
  // `routes` through `channel`, over TLS when `tls.cert_file` is set.
  // `max_body_bytes`: the largest body read.
  static absl::StatusOr<std::unique_ptr<HttpApi>> Start(const HttpConfig& config,
                                                        const TlsConfig& tls,
                                                        int64_t max_body_bytes,
                                                        std::shared_ptr<grpc::Channel> channel,
                                                        std::vector<HttpRoute> routes,
                                                        HttpRequestObserver observer = nullptr,
                                                        AdmissionPreview preview = nullptr);
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  int port() const { return listener_.port(); }
  // Stops listening and waits for the requests in flight. Idempotent.
  void Stop();

 private:
  HttpApi() = default;

  std::unique_ptr<httplib::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::vector<HttpRoute> routes_;
  HttpListener listener_;  // last: stopped before the rest goes
};

}  // namespace faceserve

#endif  // FACESERVE_SERVER_HTTP_API_H_
