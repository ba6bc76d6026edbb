#include "client/rpc_support.h"

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <vector>

#include <grpcpp/support/client_interceptor.h>

#include "absl/strings/str_cat.h"

namespace faceserve::client {
namespace {

// Adds "authorization: Bearer <key>" to every call of a channel. Metadata
// rather than call credentials: gRPC sends call credentials over TLS only,
// and a key is as useful behind a TLS-terminating proxy or on loopback.
class BearerInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit BearerInterceptor(const std::string* value) : value_(value) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", *value_});
    }
    methods->Proceed();
  }

 private:
  const std::string* const value_;  // owned by the factory, which the channel keeps
};

class BearerInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerInterceptorFactory(const std::string& key) : value_("Bearer " + key) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerInterceptor(&value_);
  }

 private:
  const std::string value_;
};

}  // namespace

std::shared_ptr<grpc::Channel> MakeChannel(const ConnectionOptions& options, bool own_connection) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 * 1024 * 1024);
  args.SetMaxSendMessageSize(-1);
  // Reconnect quickly: a CLI waiting for a server that is starting (health
  // --wait) should not sit out gRPC's default backoff of up to two minutes.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  if (own_connection) args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (options.tls) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.tls_root_certs;
    ssl.pem_cert_chain = options.tls_cert_chain;
    ssl.pem_private_key = options.tls_private_key;
    credentials = grpc::SslCredentials(ssl);
  }
  if (options.api_key.empty()) {
    return grpc::CreateCustomChannel(options.server, credentials, args);
  }
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<BearerInterceptorFactory>(options.api_key));
  return grpc::experimental::CreateCustomChannelWithInterceptors(options.server, credentials, args,
                                                                 std::move(interceptors));
}

absl::Status LoadTlsFiles(const std::string& ca_file, const std::string& cert_file,
                          const std::string& key_file, ConnectionOptions* options) {
  if (cert_file.empty() != key_file.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  auto read = [](const std::string& flag, const std::string& path,
                 std::string* out) -> absl::Status {
    if (path.empty()) return absl::OkStatus();
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    if (in) text << in.rdbuf();
    if (!in || in.bad()) {
      return absl::NotFoundError(absl::StrCat(flag, ": cannot read '", path, "'"));
    }
    *out = text.str();
    return absl::OkStatus();
  };
  if (absl::Status s = read("--tls-ca", ca_file, &options->tls_root_certs); !s.ok()) return s;
  if (absl::Status s = read("--tls-cert", cert_file, &options->tls_cert_chain); !s.ok()) return s;
  if (absl::Status s = read("--tls-key", key_file, &options->tls_private_key); !s.ok()) return s;
  options->tls = !ca_file.empty() || !cert_file.empty();
  return absl::OkStatus();
}

void SetDeadline(const ConnectionOptions& options, grpc::ClientContext& context) {
  if (options.timeout_ms > 0) {
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(options.timeout_ms));
  }
}

void RunWithConcurrency(int concurrency, const std::function<bool(int64_t)>& should_start,
                        const std::function<void(int64_t, std::function<void()>)>& start) {
  if (concurrency < 1) concurrency = 1;
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;  // guarded by mu
  // Notifies while holding the lock: the waiter may return (destroying mu and
  // cv) as soon as it sees in_flight == 0.
  std::function<void()> done = [&] {
    std::lock_guard<std::mutex> lock(mu);
    --in_flight;
    cv.notify_all();
  };
  for (int64_t i = 0;; ++i) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return in_flight < concurrency; });
    }
    if (!should_start(i)) break;
    {
      std::lock_guard<std::mutex> lock(mu);
      ++in_flight;
    }
    start(i, done);
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return in_flight == 0; });
}

}  // namespace faceserve::client
