// The HTTP/JSON routes (issue 31), generated from the gRPC services'
// descriptors: every unary RPC is POST /v1/<its name in snake case>
// (Analyze -> /v1/analyze, ListGalleries -> /v1/list_galleries), with its
// request and response messages in protobuf's JSON mapping. A new RPC gets
// its route without hand work; streaming RPCs stay gRPC-only.
#ifndef FACESERVE_SERVER_HTTP_ROUTES_H_
#define FACESERVE_SERVER_HTTP_ROUTES_H_

#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace faceserve {

struct HttpRoute {
  std::string path;         // "/v1/analyze"
  std::string grpc_method;  // "/faceserve.v1.FaceService/Analyze"
  const google::protobuf::MethodDescriptor* method = nullptr;
};

// "ListGalleries" -> "list_galleries".
std::string SnakeCase(absl::string_view camel);

// The unary methods of `services`, in order. INVALID_ARGUMENT when two of
// them would share a path.
absl::StatusOr<std::vector<HttpRoute>> UnaryRoutes(
    const std::vector<const google::protobuf::ServiceDescriptor*>& services);

}  // namespace faceserve

#endif  // FACESERVE_SERVER_HTTP_ROUTES_H_
