// HttpListener: a cpp-httplib server bound to a "host:port" and served on a
// thread of its own, for the two HTTP ports (the API on http.listen, the
// probes and metrics on metrics.listen).
//
// Thread-safety: Start and Stop from one thread. The server must outlive the
// listener (Stop, or destruction, joins the thread).
#ifndef FACESERVE_SERVER_HTTP_LISTENER_H_
#define FACESERVE_SERVER_HTTP_LISTENER_H_

#include <string>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace faceserve {

// "host:port" split ("0.0.0.0:8080", "[::]:8080", "127.0.0.1:0"); port 0 is
// allowed (a free one is picked). `key` names the config key in the error.
absl::StatusOr<std::pair<std::string, int>> ParseListenAddress(const std::string& listen,
                                                               absl::string_view key);

class HttpListener {
 public:
  HttpListener() = default;
  ~HttpListener() { Stop(); }
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  // Binds `server` to `listen` and serves it on a new thread; returns once
  // it accepts connections. INVALID_ARGUMENT for a malformed address,
  // UNAVAILABLE when it cannot be bound (both name `key`).
  absl::Status Start(httplib::Server* server, const std::string& listen, absl::string_view key);
  // The bound port; 0 before Start.
  int port() const { return port_; }
  // Stops accepting, waits for the requests in flight. Idempotent.
  void Stop();

 private:
  httplib::Server* server_ = nullptr;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace faceserve

#endif  // FACESERVE_SERVER_HTTP_LISTENER_H_
