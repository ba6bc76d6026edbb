// facectl health : grpc.health.v1.Health/Check. Prints the serving status
// (SERVING, NOT_SERVING, ...) and exits 0 only for SERVING. --wait S polls
// (every 200 ms) until SERVING or S seconds have passed, for scripts that
// start a server and wait for it to load its models.
#include <chrono>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/commands.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "proto/rpc_status.h"

namespace faceserve::client {

namespace health = grpc::health::v1;

int RunHealthCommand(const CommandContext& ctx, const ParsedArgs& args) {
  if (!args.positional.empty()) return ctx.UsageError("health takes no arguments");
  auto wait_s = args.GetDouble("wait", 0, 0, 24 * 3600);
  if (!wait_s.ok()) return ctx.UsageError(wait_s.status().message());

  auto stub = health::Health::NewStub(MakeChannel(ctx.connection));
  const auto give_up = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(static_cast<int64_t>(*wait_s * 1000));
  while (true) {
    health::HealthCheckRequest request;
    request.set_service(args.Get("service"));
    health::HealthCheckResponse response;
    grpc::ClientContext context;
    SetDeadline(ctx.connection, context);
    grpc::Status status = stub->Check(&context, request, &response);
    const bool serving =
        status.ok() && response.status() == health::HealthCheckResponse::SERVING;
    if (serving || std::chrono::steady_clock::now() >= give_up) {
      if (!status.ok()) return ctx.Fail(FromGrpcStatus(status));
      *ctx.out << health::HealthCheckResponse::ServingStatus_Name(response.status()) << std::endl;
      return serving ? 0 : 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace faceserve::client
