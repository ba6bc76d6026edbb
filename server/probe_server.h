// ProbeServer: what operators and Prometheus poll, on `metrics.listen`, with
// a small thread pool of its own, apart from the HTTP API's, so that probes
// and scrapes answer while the API is saturated:
//
//   GET /metrics  the Prometheus text format
//   GET /healthz  200 "ok" while the process runs (liveness)
//   GET /readyz   200 "ready" while `ready()` says so, else 503 "not ready"
//                 (readiness: models preheated, not shutting down), then
//                 `detail()`'s lines
//
// Other paths: 404; other methods: 405. Plain HTTP (scrapers and kubelets
// reach it inside the cluster; the API and gRPC carry server.tls).
//
// Thread-safety: the handlers run on the pool and must be thread-safe.
// Destruction stops the server and waits for the requests in flight.
#ifndef FACESERVE_SERVER_PROBE_SERVER_H_
#define FACESERVE_SERVER_PROBE_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/http_listener.h"

namespace faceserve {

struct ProbeHandlers {
  std::function<std::string()> metrics;  // the scrape's body
  std::function<bool()> ready;           // readiness
  // Lines after /readyz's first (may be empty): what an operator should
  // know that does not make the replica unready, e.g. stale galleries.
  std::function<std::string()> detail;
};

class ProbeServer {
 public:
  // Threads: a scrape and two probes at once, and one spare.
  static constexpr int kThreads = 4;

  // Binds `listen` ("host:port"; port 0 picks one). Errors name metrics.listen.
  static absl::StatusOr<std::unique_ptr<ProbeServer>> Start(const std::string& listen,
                                                            ProbeHandlers handlers);
  ~ProbeServer();
  ProbeServer(const ProbeServer&) = delete;
  ProbeServer& operator=(const ProbeServer&) = delete;

  int port() const { return listener_.port(); }

 private:
  ProbeServer();

  std::unique_ptr<httplib::Server> server_;
  HttpListener listener_;  // last: stopped before the server goes
};

}  // namespace faceserve

#endif  // FACESERVE_SERVER_PROBE_SERVER_H_
