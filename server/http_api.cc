#include "server/http_api.h"

#include <httplib.h>

#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/impl/codegen/proto_utils.h>  // SerializationTraits of any protobuf::Message

#include <chrono>
#include <exception>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "core/error_reason.h"
#include "proto/rpc_status.h"
#include "server/http_listener.h"
#include "server/http_openapi.h"
#include "server/http_request.h"
#include "server/http_status.h"
#include "server/web_assets.h"

namespace faceserve {
namespace {

using MessageStub = grpc::TemplatedGenericStub<google::protobuf::Message, google::protobuf::Message>;

constexpr char kTimeoutHeader[] = "X-Timeout-Ms";

void Reply(httplib::Response& res, int status, const std::string& json) {
  res.status = status;
  res.set_content(json, "application/json");
}

void ReplyError(httplib::Response& res, const grpc::Status& status) {
  Reply(res, HttpStatusFromGrpcCode(status.error_code()), HttpErrorBody(status));
}

void ReplyError(httplib::Response& res, const absl::Status& status) {
  ReplyError(res, ToGrpcStatus(status));
}

// One route: HTTP in, the RPC over the in-process channel, HTTP out.
void Serve(const HttpRoute& route, MessageStub& stub, const httplib::Request& req,
           httplib::Response& res) {
  google::protobuf::MessageFactory* factory = google::protobuf::MessageFactory::generated_factory();
  std::unique_ptr<google::protobuf::Message> request(
      factory->GetPrototype(route.method->input_type())->New());
  std::unique_ptr<google::protobuf::Message> response(
      factory->GetPrototype(route.method->output_type())->New());

  absl::Status parsed;
  switch (BodyKindOf(req.get_header_value("Content-Type"))) {
    case HttpBodyKind::kJson:
      parsed = RequestFromJson(req.body, request.get());
      break;
    case HttpBodyKind::kImage: {
      std::multimap<std::string, std::string> params(req.params.begin(), req.params.end());
      parsed = RequestFromImage(req.body, params, request.get());
      break;
    }
    case HttpBodyKind::kMultipart: {
      // A form: the part "image" is the image, every other part a field as a
      // query parameter would be (the query's own parameters too).
      std::multimap<std::string, std::string> params(req.params.begin(), req.params.end());
      const std::string* image = nullptr;
      for (const auto& [name, part] : req.files) {
        if (name == "image") {
          image = &part.content;
        } else {
          params.emplace(name, part.content);
        }
      }
      if (image == nullptr) {
        parsed = WithReason(absl::InvalidArgumentError(
                                "multipart/form-data: no part named \"image\" with the image"),
                            ErrorReason::kInvalidField, {{"field", "image"}});
        break;
      }
      parsed = RequestFromImage(*image, params, request.get());
      break;
    }
    case HttpBodyKind::kUnsupported:
      Reply(res, 415,
            HttpErrorBody(ToGrpcStatus(WithReason(
                absl::InvalidArgumentError("Content-Type: application/json, or an image "
                                           "(image/jpeg, image/png, ...) for routes with an image"),
                ErrorReason::kInvalidField, {{"field", "Content-Type"}}))));
      return;
  }
  if (!parsed.ok()) return ReplyError(res, parsed);

  grpc::ClientContext context;
  if (req.has_header("Authorization")) {
    context.AddMetadata("authorization", req.get_header_value("Authorization"));
  }
  if (req.has_header(kTimeoutHeader)) {
    int64_t ms = 0;
    if (!absl::SimpleAtoi(req.get_header_value(kTimeoutHeader), &ms) || ms <= 0) {
      return ReplyError(res, WithReason(absl::InvalidArgumentError(absl::StrCat(
                                            kTimeoutHeader, ": a positive number of milliseconds")),
                                        ErrorReason::kInvalidField, {{"field", kTimeoutHeader}}));
    }
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(ms));
  }
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&context, route.grpc_method, grpc::StubOptions(), request.get(), response.get(),
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) return ReplyError(res, status);
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(*response, &json, options).ok()) {
    return ReplyError(res, absl::InternalError("cannot write the response as JSON"));
  }
  Reply(res, 200, json);
}

// CORS: the allowed origin for `origin` ("" when it is not allowed).
std::string AllowedOrigin(const std::vector<std::string>& allowed, const std::string& origin) {
  if (origin.empty()) return "";
  for (const std::string& a : allowed) {
    if (a == "*" || a == origin) return origin;
  }
  return "";
}

}  // namespace

HttpConfig ResolvedHttpConfig(const Config& config) {
  HttpConfig http = config.http;
  if (http.threads == 0) http.threads = config.server.max_concurrent_calls + 64;
  return http;
}

int64_t HttpMaxBodyBytes(const Config& config) {
  return config.server.max_message_bytes / 3 * 4 + (int64_t{1} << 16);
}

absl::StatusOr<std::unique_ptr<HttpApi>> HttpApi::Start(const HttpConfig& config,
                                                        const TlsConfig& tls,
                                                        int64_t max_body_bytes,
                                                        std::shared_ptr<grpc::Channel> channel,
                                                        std::vector<HttpRoute> routes,
                                                        HttpRequestObserver observer,
                                                        AdmissionPreview preview) {
  std::unique_ptr<HttpApi> api(new HttpApi());
  api->channel_ = std::move(channel);
  api->routes_ = std::move(routes);
  if (tls.cert_file.empty()) {
    api->server_ = std::make_unique<httplib::Server>();
  } else {
    auto secure = std::make_unique<httplib::SSLServer>(
        tls.cert_file.c_str(), tls.key_file.c_str(),
        tls.client_ca_file.empty() ? nullptr : tls.client_ca_file.c_str());
    if (!secure->is_valid()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "http.listen: cannot serve TLS with server.tls's certificate (", tls.cert_file,
          "), key (", tls.key_file, ") or client CA"));
    }
    api->server_ = std::move(secure);
  }
  httplib::Server& server = *api->server_;
  const size_t threads = static_cast<size_t>(config.threads);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_keep_alive_timeout(config.keep_alive_timeout_s);
  server.set_keep_alive_max_count(static_cast<size_t>(config.keep_alive_max_requests));
  server.set_read_timeout(config.read_timeout_s, 0);
  server.set_payload_max_length(static_cast<size_t>(max_body_bytes));

  auto stub = std::make_shared<MessageStub>(api->channel_);
  for (const HttpRoute& route : api->routes_) {
    const HttpRoute* r = &route;  // routes_ does not change after Start
    server.Post(route.path, [r, stub, observer](const httplib::Request& req,
                                                httplib::Response& res) {
      const absl::Time start = absl::Now();
      Serve(*r, *stub, req, res);
      if (observer) observer(r->path, res.status, absl::Now() - start);
    });
  }
  // Overload: a call the server would refuse now is refused before its body
  // is read (up to max_message_bytes each), on a connection then closed (its
  // unread body must not be taken for the next request). Measured: 32
  // clients sending 100 KiB photos back to back at 4x the limit.
  if (preview) {
    auto paths = std::make_shared<std::set<std::string>>();
    for (const HttpRoute& route : api->routes_) paths->insert(route.path);
    server.set_pre_routing_handler([paths, preview, observer](const httplib::Request& req,
                                                              httplib::Response& res) {
      if (req.method != "POST" || paths->count(req.path) == 0) {
        return httplib::Server::HandlerResponse::Unhandled;
      }
      const absl::Status verdict = preview();
      if (verdict.ok()) return httplib::Server::HandlerResponse::Unhandled;
      ReplyError(res, verdict);
      res.set_header("Connection", "close");
      if (observer) observer(req.path, res.status, absl::ZeroDuration());
      return httplib::Server::HandlerResponse::Handled;
    });
  }
  // CORS: answers preflights, and marks the answers to allowed origins.
  const std::vector<std::string> origins = config.cors_origins;
  server.Options(R"(/.*)", [origins](const httplib::Request& req, httplib::Response& res) {
    res.status = 204;
    if (AllowedOrigin(origins, req.get_header_value("Origin")).empty()) return;
    res.set_header("Access-Control-Allow-Methods", "POST, GET");
    res.set_header("Access-Control-Allow-Headers", "Content-Type, Authorization, X-Timeout-Ms");
    res.set_header("Access-Control-Max-Age", "600");
  });
  server.set_post_routing_handler([origins](const httplib::Request& req, httplib::Response& res) {
    const std::string origin = AllowedOrigin(origins, req.get_header_value("Origin"));
    if (origin.empty()) return;
    res.set_header("Access-Control-Allow-Origin", origin);
    res.set_header("Vary", "Origin");
  });

  auto openapi = std::make_shared<const std::string>(OpenApiDocument(api->routes_));
  server.Get("/openapi.json", [openapi](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200, *openapi);
  });
  // The browser page (server/web/): it may load and call nothing but this
  // server, and no other site may frame it.
  for (const WebAsset& asset : WebAssets()) {
    server.Get(absl::StrReplaceAll(std::string(asset.path), {{".", "\\."}}),
               [asset, observer](const httplib::Request&, httplib::Response& res) {
                 res.set_header("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' blob: data:; "
                                "frame-ancestors 'none'");
                 res.set_header("X-Content-Type-Options", "nosniff");
                 res.set_header("Cache-Control", "no-cache");
                 res.set_content(std::string(asset.body), std::string(asset.content_type));
                 if (observer) observer(std::string(asset.path), 200, absl::ZeroDuration());
               });
  }
  // A bug (an exception out of a handler): 500 with a JSON body and nothing
  // of the exception (httplib's default puts its text in a header).
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res,
                                  std::exception_ptr) {
    ReplyError(res, grpc::Status(grpc::StatusCode::INTERNAL, "internal error"));
  });
  // Unknown paths and methods, and httplib's own refusals (413 for a body
  // over the limit), get a JSON body too.
  server.set_error_handler([observer](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    // Unknown paths are one label, "other": labels stay bounded.
    if (observer) observer("other", res.status, absl::ZeroDuration());
    const grpc::StatusCode code = res.status == 413   ? grpc::StatusCode::RESOURCE_EXHAUSTED
                                  : res.status == 404 ? grpc::StatusCode::NOT_FOUND
                                                      : grpc::StatusCode::INVALID_ARGUMENT;
    const std::string message =
        res.status == 413 ? "request body over the size limit (server.max_message_bytes)"
        : res.status == 404
            ? absl::StrCat("no route ", req.method, " ", req.path,
                           " (every unary RPC is POST /v1/<its name in snake case>)")
            : absl::StrCat("HTTP ", res.status);
    res.set_content(HttpErrorBody(grpc::Status(code, message)), "application/json");
  });

  if (absl::Status s = api->listener_.Start(&server, config.listen, "http.listen"); !s.ok()) {
    return s;
  }
  return api;
}

HttpApi::~HttpApi() { Stop(); }

void HttpApi::Stop() { listener_.Stop(); }

}  // namespace faceserve
