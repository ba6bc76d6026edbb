// HttpEndpoint: a minimal HTTP/1.0 server for the Prometheus scrape
// (GET /metrics), on one thread of its own.
//
// Why not prometheus::Exposer: it runs civetweb, whose threads are created
// with a fixed 100 KiB stack; in a process that links LibTorch (Debian 12's
// libtorch 1.13 and its dependencies) the static TLS alone is larger than
// that, so pthread_create fails with EINVAL and the Exposer cannot start.
// Here the thread has the default stack.
//
// Behaviour: one connection at a time (a scrape is small and fast; each read
// and write times out after 2 s, so a stuck client cannot hold the endpoint
// longer). GET or HEAD of `path` -> 200 with the body from `handler`,
// `Content-Type: text/plain; version=0.0.4; charset=utf-8`; any other path
// -> 404; any other method -> 405. Every response closes the connection.
//
// Thread-safety: `handler` is called on the endpoint's thread and must be
// thread-safe. Destruction stops the thread (within one request at most).
#ifndef FACESERVE_SERVER_HTTP_ENDPOINT_H_
#define FACESERVE_SERVER_HTTP_ENDPOINT_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace faceserve {

class HttpEndpoint {
 public:
  // `listen` is "host:port" ("0.0.0.0:9464", "127.0.0.1:0", "[::]:9464",
  // ":9464" for every address); port 0 picks a free port. Fails with
  // INVALID_ARGUMENT for a malformed address and UNAVAILABLE when it cannot
  // be bound.
  static absl::StatusOr<std::unique_ptr<HttpEndpoint>> Start(
      const std::string& listen, const std::string& path, std::function<std::string()> handler);

  ~HttpEndpoint();
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;

  // The bound port.
  int port() const { return port_; }

 private:
  HttpEndpoint(int listen_fd, int wake_fd, int port, std::string path,
               std::function<std::string()> handler);
  void Serve();
  void HandleConnection(int fd);

  // Constant after construction.
  const int listen_fd_;
  const int wake_fd_;  // an eventfd: written once to stop Serve()
  const int port_;
  const std::string path_;
  const std::function<std::string()> handler_;
  std::thread thread_;  // last: starts after the members above
};

}  // namespace faceserve

#endif  // FACESERVE_SERVER_HTTP_ENDPOINT_H_
