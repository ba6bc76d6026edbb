// An HTTP request's body and query made into an RPC's request message
// (issue 31): JSON in protobuf's mapping, or an image body with the other
// fields as query parameters. Errors are INVALID_ARGUMENT / INVALID_FIELD
// naming what was wrong ("body", or the parameter).
#ifndef FACESERVE_SERVER_HTTP_REQUEST_H_
#define FACESERVE_SERVER_HTTP_REQUEST_H_

#include <map>
#include <string>

#include <google/protobuf/message.h>

#include "absl/status/status.h"

namespace faceserve {

// How a Content-Type is read.
enum class HttpBodyKind { kJson, kImage, kMultipart, kUnsupported };
HttpBodyKind BodyKindOf(const std::string& content_type);

// Fills `out` (cleared first) from a JSON body; an empty body is an empty
// message. Unknown fields are refused.
absl::Status RequestFromJson(const std::string& body, google::protobuf::Message* out);

// Fills `out` from an image body: its `image` field's `encoded` bytes, then
// every query parameter as a field path (dots between fields; a repeated
// field takes every value of its key). INVALID_ARGUMENT when the message has
// no `image` field of type faceserve.v1.Image.
absl::Status RequestFromImage(const std::string& body,
                              const std::multimap<std::string, std::string>& params,
                              google::protobuf::Message* out);

}  // namespace faceserve

#endif  // FACESERVE_SERVER_HTTP_REQUEST_H_
