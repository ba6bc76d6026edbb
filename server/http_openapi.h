// The OpenAPI 3 document of the HTTP/JSON API (issue 31), generated from the
// same descriptors as its routes (server/http_routes.h): a path per route,
// a schema per message in protobuf's JSON mapping (proto field names, as the
// server writes them; int64 as strings, bytes as base64, enums by name), the
// error body as google.rpc.Status. Served at GET /openapi.json.
#ifndef FACESERVE_SERVER_HTTP_OPENAPI_H_
#define FACESERVE_SERVER_HTTP_OPENAPI_H_

#include <string>
#include <vector>

#include "server/http_routes.h"

namespace faceserve {

// The document as JSON text.
std::string OpenApiDocument(const std::vector<HttpRoute>& routes);

}  // namespace faceserve

#endif  // FACESERVE_SERVER_HTTP_OPENAPI_H_
