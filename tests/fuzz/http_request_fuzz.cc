// Fuzz target: an HTTP request's way to its RPC message (server/http_request.h)
// for the routes that take images and galleries, then, for FaceService's
// requests, everything FuzzRequest checks (validation, conversion, reader).
//
// Input: byte 0 picks the Content-Type, byte 1 the request message; the rest
// is "<query>\n<body>" (the query as key=value pairs joined by '&').
#include <map>
#include <memory>
#include <string>

#include <google/protobuf/message.h>

#include "faceserve/v1/face_service.pb.h"
#include "faceserve/v1/gallery_service.pb.h"
#include "proto/rpc_status.h"
#include "server/http_request.h"
#include "tests/fuzz/fuzz_targets.h"

namespace faceserve {
namespace fuzz {
namespace {

#define FUZZ_CHECK(cond)                 \
  do {                                   \
    if (!(cond)) FuzzCheckFailed(#cond); \
  } while (0)

constexpr const char* kContentTypes[] = {
    "application/json", "application/json; charset=utf-8", "image/jpeg", "image/png",
    "application/octet-stream", "text/plain", "", "multipart/form-data; boundary=x"};

std::unique_ptr<google::protobuf::Message> MessageOf(uint8_t pick, bool* face_service) {
  *face_service = pick % 7 < 3;
  switch (pick % 7) {
    case 0: return std::make_unique<v1::AnalyzeRequest>();
    case 1: return std::make_unique<v1::EmbedRequest>();
    case 2: return std::make_unique<v1::VerifyRequest>();
    case 3: return std::make_unique<v1::EnrollRequest>();
    case 4: return std::make_unique<v1::IdentifyRequest>();
    case 5: return std::make_unique<v1::SearchRequest>();
    default: return std::make_unique<v1::CreateGalleryRequest>();
  }
}

std::multimap<std::string, std::string> ParseQuery(const std::string& query) {
  std::multimap<std::string, std::string> params;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    const std::string pair = query.substr(start, end - start);
    const size_t eq = pair.find('=');
    params.emplace(pair.substr(0, eq), eq == std::string::npos ? "" : pair.substr(eq + 1));
    start = end + 1;
  }
  return params;
}

// A refusal: INVALID_ARGUMENT, with a message that fits in a status.
void CheckRefused(const absl::Status& status) {
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  FUZZ_CHECK(!status.message().empty());
  FUZZ_CHECK(ToGrpcStatus(status).error_message().size() <= kMaxStatusMessageBytes);
}

}  // namespace

int FuzzHttpRequest(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::string content_type = kContentTypes[data[0] % std::size(kContentTypes)];
  bool face_service = false;
  std::unique_ptr<google::protobuf::Message> message = MessageOf(data[1], &face_service);
  const std::string rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  const size_t newline = rest.find('\n');
  const std::string query = newline == std::string::npos ? "" : rest.substr(0, newline);
  const std::string body = newline == std::string::npos ? rest : rest.substr(newline + 1);

  absl::Status status;
  switch (BodyKindOf(content_type)) {
    case HttpBodyKind::kJson:
      status = RequestFromJson(body, message.get());
      break;
    case HttpBodyKind::kImage:
      status = RequestFromImage(body, ParseQuery(query), message.get());
      break;
    default:
      return 0;  // multipart is httplib's parsing; the rest is refused by type
  }
  if (!status.ok()) {
    CheckRefused(status);
    return 0;
  }
  // A message made: it must be one gRPC could have carried, and FaceService's
  // requests meet everything a gRPC request meets before a model.
  std::string wire;
  FUZZ_CHECK(message->SerializeToString(&wire));
  if (face_service) FuzzRequest(reinterpret_cast<const uint8_t*>(wire.data()), wire.size());
  return 0;
}

}  // namespace fuzz
}  // namespace faceserve
