// facectl embed IMAGE... : one Embed call per image; one JSON object per line.
#include <string>

#include "absl/strings/str_cat.h"
#include "client/commands.h"
#include "core/error_reason.h"
#include "client/image_files.h"
#include "client/json_output.h"
#include "faceserve/v1/face_service.grpc.pb.h"
#include "proto/rpc_status.h"

namespace faceserve::client {

namespace v1 = faceserve::v1;

int RunEmbedCommand(const CommandContext& ctx, const ParsedArgs& args) {
  if (args.positional.empty()) return ctx.UsageError("embed needs at least one IMAGE");
  if (args.Has("largest") && args.Has("crop")) {
    return ctx.UsageError("--largest and --crop exclude each other");
  }
  v1::FaceSelection selection = v1::FACE_SELECTION_ALL;
  if (args.Has("largest")) selection = v1::FACE_SELECTION_LARGEST;
  if (args.Has("crop")) selection = v1::FACE_SELECTION_WHOLE_IMAGE;

  auto stub = v1::FaceService::NewStub(MakeChannel(ctx.connection));
  int exit_code = 0;
  for (const std::string& path : args.positional) {
    auto bytes = ReadFileBytes(path);
    if (!bytes.ok()) {
      ctx.PrintError(bytes.status());
      exit_code = 1;
      continue;
    }
    v1::EmbedRequest request;
    request.mutable_image()->set_encoded(*std::move(bytes));
    request.set_selection(selection);
    request.set_predictor(args.Get("predictor"));
    v1::EmbedResponse response;
    grpc::ClientContext context;
    SetDeadline(ctx.connection, context);
    grpc::Status status = stub->Embed(&context, request, &response);
    if (!status.ok()) {
      absl::Status s = FromGrpcStatus(status);
      ctx.PrintError(WithPrefix(s, absl::StrCat(path, ": ")));
      exit_code = 1;
      continue;
    }
    *ctx.out << ToJsonLine(EmbedResponseToJson(path, response)) << std::endl;
  }
  return exit_code;
}

}  // namespace faceserve::client
