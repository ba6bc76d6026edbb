// AnalyzeFile: one image file through the server's Analyze, as facectl's
// subcommands that read photos from disk need it.
#ifndef FACESERVE_CLIENT_ANALYZE_FILE_H_
#define FACESERVE_CLIENT_ANALYZE_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "client/rpc_support.h"
#include "faceserve/v1/face_service.grpc.pb.h"

namespace faceserve::client {

// Reads `path` and sends it with `options` (deadline from `connection`).
// Errors start with the path and keep the server's reason.
absl::StatusOr<v1::AnalyzeResponse> AnalyzeFile(v1::FaceService::Stub& stub,
                                                const ConnectionOptions& connection,
                                                const std::string& path,
                                                const v1::AnalyzeOptions& options);

}  // namespace faceserve::client

#endif  // FACESERVE_CLIENT_ANALYZE_FILE_H_
