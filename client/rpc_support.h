// gRPC plumbing shared by facectl's subcommands: the channel, per-call
// deadlines, and a driver that keeps N callback-API calls
// in flight. Everything here is thread-safe.
#ifndef FACESERVE_CLIENT_RPC_SUPPORT_H_
#define FACESERVE_CLIENT_RPC_SUPPORT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"

namespace faceserve::client {

// Connection settings common to every subcommand.
struct ConnectionOptions {
  std::string server = "127.0.0.1:50051";  // host:port
  int64_t timeout_ms = 30000;              // per call; 0: no deadline
  // TLS (--tls-ca, --tls-cert, --tls-key): the PEM contents, not the paths.
  bool tls = false;
  std::string tls_root_certs;   // CA that signed the server's certificate; empty: system roots
  std::string tls_cert_chain;   // client certificate, for mutual TLS; empty: none
  std::string tls_private_key;  // its private key
  // API key (--api-key, or FACESERVE_API_KEY): sent with every call as
  // "authorization: Bearer <key>"; empty: none.
  std::string api_key;
};

// Reads the PEM files named by --tls-ca, --tls-cert and --tls-key into
// `options` (any of them set: TLS). A certificate needs its key and vice
// versa (INVALID_ARGUMENT); an unreadable file is NOT_FOUND.
absl::Status LoadTlsFiles(const std::string& ca_file, const std::string& cert_file,
                          const std::string& key_file, ConnectionOptions* options);

// A channel (TLS when options.tls, else plaintext) with a receive limit large
// enough for annotated images, adding options.api_key to every call.
// `own_connection`: do not share the TCP connection with other channels of
// this process (bench spreads load over several connections with it).
std::shared_ptr<grpc::Channel> MakeChannel(const ConnectionOptions& options,
                                           bool own_connection = false);

// Sets the deadline of `context` from options.timeout_ms (none when 0).
void SetDeadline(const ConnectionOptions& options, grpc::ClientContext& context);

// One unary call of `Service` on a fresh channel with the deadline of
// `options`: CallUnary<v1::GalleryService>(options, &Stub::ListGalleries,
// request, &response).
template <typename Service, typename Method, typename Request, typename Response>
grpc::Status CallUnary(const ConnectionOptions& options, Method method, const Request& request,
                       Response* response) {
  auto stub = Service::NewStub(MakeChannel(options));
  grpc::ClientContext context;
  SetDeadline(options, context);
  return ((*stub).*method)(&context, request, response);
}

// Calls start(i, done) for i = 0, 1, ... while should_start(i) is true,
// keeping at most `concurrency` calls started and not yet done; returns once
// every started call has called done() (exactly once each, from any thread).
// start() must not block on the completion of other calls. should_start and
// start run on the calling thread only.
void RunWithConcurrency(int concurrency, const std::function<bool(int64_t)>& should_start,
                        const std::function<void(int64_t, std::function<void()>)>& start);

}  // namespace faceserve::client

#endif  // FACESERVE_CLIENT_RPC_SUPPORT_H_
