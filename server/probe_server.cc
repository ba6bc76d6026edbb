#include "server/probe_server.h"

#include <httplib.h>

#include <utility>

namespace faceserve {

ProbeServer::ProbeServer() : server_(std::make_unique<httplib::Server>()) {}

ProbeServer::~ProbeServer() { listener_.Stop(); }

absl::StatusOr<std::unique_ptr<ProbeServer>> ProbeServer::Start(const std::string& listen,
                                                                 ProbeHandlers handlers) {
  std::unique_ptr<ProbeServer> probes(new ProbeServer());
  httplib::Server& server = *probes->server_;
  server.new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  // Probes and scrapes are small: short timeouts, so a stuck client frees
  // its thread soon.
  server.set_read_timeout(2, 0);
  server.set_write_timeout(2, 0);
  server.set_keep_alive_timeout(2);
  server.set_payload_max_length(1 << 16);

  server.Get("/metrics", [metrics = std::move(handlers.metrics)](const httplib::Request&,
                                                                 httplib::Response& res) {
    res.set_content(metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server.Get("/readyz", [ready = std::move(handlers.ready), detail = std::move(handlers.detail)](
                           const httplib::Request&, httplib::Response& res) {
    const bool is_ready = ready();
    res.status = is_ready ? 200 : 503;
    std::string body = is_ready ? "ready\n" : "not ready\n";
    if (detail) body += detail();
    res.set_content(body, "text/plain");
  });
  // A known path with another method: 405, as HTTP says (httplib answers 404).
  const auto not_allowed = [](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_header("Allow", "GET, HEAD");
  };
  for (const char* path : {"/metrics", "/healthz", "/readyz"}) {
    server.Post(path, not_allowed);
    server.Put(path, not_allowed);
    server.Delete(path, not_allowed);
    server.Patch(path, not_allowed);
  }
  if (absl::Status s = probes->listener_.Start(&server, listen, "metrics.listen"); !s.ok()) {
    return s;
  }
  return probes;
}

}  // namespace faceserve
