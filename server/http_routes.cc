#include "server/http_routes.h"

#include <cctype>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace faceserve {

std::string SnakeCase(absl::string_view camel) {
  std::string out;
  for (size_t i = 0; i < camel.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(camel[i]);
    if (std::isupper(c)) {
      // A new word: after a lower-case letter or digit, or at the last capital
      // of a run followed by a lower-case letter ("HTTPRoute" -> http_route).
      const bool after_lower = i > 0 && !std::isupper(static_cast<unsigned char>(camel[i - 1]));
      const bool ends_run = i > 0 && i + 1 < camel.size() &&
                            std::islower(static_cast<unsigned char>(camel[i + 1]));
      if (i > 0 && (after_lower || ends_run)) out.push_back('_');
      out.push_back(static_cast<char>(std::tolower(c)));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

absl::StatusOr<std::vector<HttpRoute>> UnaryRoutes(
    const std::vector<const google::protobuf::ServiceDescriptor*>& services) {
  std::vector<HttpRoute> routes;
  std::map<std::string, std::string> taken;  // path -> full method name
  for (const google::protobuf::ServiceDescriptor* service : services) {
    for (int i = 0; i < service->method_count(); ++i) {
      const google::protobuf::MethodDescriptor* method = service->method(i);
      if (method->client_streaming() || method->server_streaming()) continue;
      HttpRoute route;
      route.path = absl::StrCat("/v1/", SnakeCase(method->name()));
      route.grpc_method = absl::StrCat("/", service->full_name(), "/", method->name());
      route.method = method;
      auto [it, inserted] = taken.emplace(route.path, method->full_name());
      if (!inserted) {
        return absl::InvalidArgumentError(absl::StrCat("HTTP route ", route.path, " would serve both ",
                                                       it->second, " and ", method->full_name()));
      }
      routes.push_back(std::move(route));
    }
  }
  return routes;
}

}  // namespace faceserve
