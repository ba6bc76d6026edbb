// facectl verify IMAGE_A IMAGE_B : one Verify call; one JSON object.
#include <string>

#include "client/commands.h"
#include "client/image_files.h"
#include "client/json_output.h"
#include "faceserve/v1/face_service.grpc.pb.h"
#include "proto/rpc_status.h"

namespace faceserve::client {

namespace v1 = faceserve::v1;

int RunVerifyCommand(const CommandContext& ctx, const ParsedArgs& args) {
  if (args.positional.size() != 2) return ctx.UsageError("verify needs exactly two images");
  auto threshold = args.GetDouble("threshold", 0, -1, 1);
  if (!threshold.ok()) return ctx.UsageError(threshold.status().message());
  const v1::FaceSelection selection =
      args.Has("crops") ? v1::FACE_SELECTION_WHOLE_IMAGE : v1::FACE_SELECTION_LARGEST;

  v1::VerifyRequest request;
  for (int side = 0; side < 2; ++side) {
    auto bytes = ReadFileBytes(args.positional[side]);
    if (!bytes.ok()) return ctx.Fail(bytes.status());
    v1::FaceInput* input = side == 0 ? request.mutable_a() : request.mutable_b();
    input->mutable_image()->set_encoded(*std::move(bytes));
    input->set_selection(selection);
  }
  request.set_predictor(args.Get("predictor"));
  request.set_threshold(static_cast<float>(*threshold));

  auto stub = v1::FaceService::NewStub(MakeChannel(ctx.connection));
  v1::VerifyResponse response;
  grpc::ClientContext context;
  SetDeadline(ctx.connection, context);
  grpc::Status status = stub->Verify(&context, request, &response);
  if (!status.ok()) return ctx.Fail(FromGrpcStatus(status));
  *ctx.out << ToJsonLine(VerifyResponseToJson(response)) << std::endl;
  return 0;
}

}  // namespace faceserve::client
