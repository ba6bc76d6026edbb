#include "client/analyze_file.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "client/image_files.h"
#include "core/error_reason.h"
#include "proto/rpc_status.h"

namespace faceserve::client {

absl::StatusOr<v1::AnalyzeResponse> AnalyzeFile(v1::FaceService::Stub& stub,
                                                const ConnectionOptions& connection,
                                                const std::string& path,
                                                const v1::AnalyzeOptions& options) {
  absl::StatusOr<std::string> bytes = ReadFileBytes(path);
  if (!bytes.ok()) return bytes.status();
  v1::AnalyzeRequest request;
  request.mutable_image()->set_encoded(*std::move(bytes));
  *request.mutable_options() = options;
  v1::AnalyzeResponse response;
  grpc::ClientContext context;
  SetDeadline(connection, context);
  const grpc::Status status = stub.Analyze(&context, request, &response);
  if (!status.ok()) return WithPrefix(FromGrpcStatus(status), absl::StrCat(path, ": "));
  return response;
}

}  // namespace faceserve::client
