#include "server/http_listener.h"

#include <httplib.h>
#include <sys/socket.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace faceserve {

absl::StatusOr<std::pair<std::string, int>> ParseListenAddress(const std::string& listen,
                                                               absl::string_view key) {
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": expected host:port, got \"", listen, "\""));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";  // ":9464": every address
  return std::make_pair(host, port);
}

absl::Status HttpListener::Start(httplib::Server* server, const std::string& listen,
                                 absl::string_view key) {
  absl::StatusOr<std::pair<std::string, int>> address = ParseListenAddress(listen, key);
  if (!address.ok()) return address.status();
  const auto& [host, port] = *address;
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, with which a
  // second server binds the same port and silently takes half its
  // connections instead of failing to start.
  // Answers go out as written: with Nagle's algorithm on, a response's
  // headers and body, written apart, met the client's delayed ACK and every
  // answer waited ~40 ms (bench/results/http-vs-grpc-*).
  server->set_tcp_nodelay(true);
  int listen_fd = -1;
  server->set_socket_options([&listen_fd](int sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_fd = sock;
  });
  const int bound = port == 0 ? server->bind_to_any_port(host)
                              : (server->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return absl::UnavailableError(absl::StrCat(key, ": cannot listen on \"", listen, "\""));
  }
  // httplib listens with a backlog of 5 (compiled into Debian's library): a
  // burst of new connections beyond it had some of them fail at once.
  // Listening again on the bound socket raises the backlog (Linux).
  if (listen_fd >= 0) ::listen(listen_fd, SOMAXCONN);
  server->set_socket_options([](int) {});
  server_ = server;
  port_ = bound;
  thread_ = std::thread([server] { server->listen_after_bind(); });
  // httplib's stop() does nothing before its loop runs: wait for the loop,
  // so that a Stop() right after Start() cannot leave the thread serving.
  const absl::Time limit = absl::Now() + absl::Seconds(10);
  while (!server->is_running() && absl::Now() < limit) absl::SleepFor(absl::Milliseconds(1));
  return absl::OkStatus();
}

void HttpListener::Stop() {
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace faceserve
