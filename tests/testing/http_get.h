// HttpGet: a minimal blocking HTTP/1.0 GET over a raw TCP socket, for tests
// that scrape the Prometheus endpoint for real. No dependencies; IPv4 only.
#ifndef FACESERVE_TESTS_TESTING_HTTP_GET_H_
#define FACESERVE_TESTS_TESTING_HTTP_GET_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace faceserve {
namespace testing {

struct HttpResponse {
  int status = 0;       // e.g. 200
  std::string headers;  // status line and headers, CRLF-separated
  std::string body;
};

// GET http://<ipv4>:<port><path>. Fails with UNAVAILABLE when the
// connection fails and DATA_LOSS for an unparsable response.
inline absl::StatusOr<HttpResponse> HttpGet(const std::string& ipv4, int port,
                                            const std::string& path,
                                            absl::Duration timeout = absl::Seconds(5)) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, ipv4.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("not an IPv4 address: ", ipv4));
  }
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  timeval tv = absl::ToTimeval(timeout);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return absl::UnavailableError(
        absl::StrCat("connect ", ipv4, ":", port, ": ", std::strerror(errno)));
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: ", ipv4, ":", port,
                   "\r\nConnection: close\r\n\r\n");
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return absl::UnavailableError(absl::StrCat("send: ", std::strerror(errno)));
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[8192];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n == 0) break;  // the server closed: the response is complete
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::DeadlineExceededError(absl::StrCat("recv: ", std::strerror(errno)));
    }
    raw.append(buf, static_cast<size_t>(n));
  }
  const size_t header_end = raw.find("\r\n\r\n");
  if (header_end == std::string::npos || raw.compare(0, 5, "HTTP/") != 0) {
    return absl::DataLossError(absl::StrCat("not an HTTP response: ", raw.substr(0, 80)));
  }
  HttpResponse response;
  response.headers = raw.substr(0, header_end);
  response.body = raw.substr(header_end + 4);
  const size_t space = response.headers.find(' ');
  if (space == std::string::npos) return absl::DataLossError("no status code");
  response.status = std::atoi(response.headers.c_str() + space + 1);
  return response;
}

}  // namespace testing
}  // namespace faceserve

#endif  // FACESERVE_TESTS_TESTING_HTTP_GET_H_
