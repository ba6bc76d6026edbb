// facectl identify --gallery G IMAGE... : one Identify call per image; one
// JSON object per line, as analyze prints, each face with its matches.
#include <string>

#include "client/commands.h"
#include "client/image_files.h"
#include "client/json_output.h"
#include "faceserve/v1/gallery_service.grpc.pb.h"
#include "proto/rpc_status.h"

namespace faceserve::client {

namespace v1 = faceserve::v1;

int RunIdentifyCommand(const CommandContext& ctx, const ParsedArgs& args) {
  if (!args.Has("gallery")) return ctx.UsageError("identify needs --gallery G");
  if (args.positional.empty()) return ctx.UsageError("identify needs at least one image");
  auto top_k = args.GetInt("top-k", 1, 1, 100);
  if (!top_k.ok()) return ctx.UsageError(top_k.status().message());
  auto threshold = args.GetDouble("threshold", 0, 0, 1);
  if (!threshold.ok()) return ctx.UsageError(threshold.status().message());
  auto stub = v1::GalleryService::NewStub(MakeChannel(ctx.connection));
  int failures = 0;
  for (const std::string& path : args.positional) {
    v1::IdentifyRequest request;
    absl::StatusOr<std::string> bytes = ReadFileBytes(path);
    if (!bytes.ok()) {
      ctx.PrintError(bytes.status());
      ++failures;
      continue;
    }
    request.mutable_image()->set_encoded(*std::move(bytes));
    request.mutable_options()->set_gallery(args.Get("gallery"));
    request.mutable_options()->set_top_k(static_cast<int>(*top_k));
    request.mutable_options()->set_threshold(static_cast<float>(*threshold));
    v1::IdentifyResponse response;
    grpc::ClientContext context;
    SetDeadline(ctx.connection, context);
    grpc::Status status = stub->Identify(&context, request, &response);
    if (!status.ok()) {
      ctx.PrintError(FromGrpcStatus(status));
      ++failures;
      continue;
    }
    *ctx.out << ToJsonLine(IdentifyResponseToJson(path, response)) << std::endl;
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace faceserve::client
