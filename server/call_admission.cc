#include "server/call_admission.h"

#include <chrono>
#include <optional>

#include "absl/strings/str_cat.h"
#include "core/error_reason.h"
#include "proto/rpc_status.h"
#include "server/metrics.h"

namespace faceserve {
namespace {

const char* StateName(PipelineState state) {
  switch (state) {
    case PipelineState::kLoading:
      return "loading models";
    case PipelineState::kWarming:
      return "preheating models";
    case PipelineState::kReady:
      return "ready";
    case PipelineState::kFailed:
      return "failed";
    case PipelineState::kShuttingDown:
      return "shutting down";
  }
  return "unknown";
}

}  // namespace

absl::StatusOr<Caller> CallGate::CheckAccess(const grpc::CallbackServerContext& context,
                                             const AccessNeed& need) {
  if (access_ == nullptr) return Caller{};
  std::optional<absl::string_view> authorization;
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    authorization = absl::string_view(it->second.data(), it->second.size());
  }
  absl::StatusOr<Caller> caller = access_->Authenticate(authorization);
  absl::Status refused = caller.status();
  if (caller.ok()) refused = access_->Authorize(*caller, need);
  if (refused.ok()) return caller;
  if (metrics_ != nullptr) metrics_->OnAccessRefused(ReasonNameOf(refused));
  return refused;
}

namespace {

absl::Status ShuttingDown() {
  return WithReason(absl::UnavailableError("server is shutting down"), ErrorReason::kShuttingDown);
}

absl::Status NotReady(PipelineState state) {
  return WithReason(absl::UnavailableError(absl::StrCat("server not ready: ", StateName(state))),
                    state == PipelineState::kShuttingDown ? ErrorReason::kShuttingDown
                                                          : ErrorReason::kModelsNotReady);
}

absl::Status TooManyCalls(int limit) {
  return WithReason(absl::ResourceExhaustedError(absl::StrCat(
                        "too many concurrent calls (server.max_concurrent_calls = ", limit,
                        "); retry later")),
                    ErrorReason::kTooManyCalls);
}

}  // namespace

absl::Status CallGate::Preview() const {
  if (shutting_down_.load()) return ShuttingDown();
  if (const PipelineState state = pipeline_->state(); state != PipelineState::kReady) {
    return NotReady(state);
  }
  if (slots_taken_.load() >= config_.max_concurrent_calls) {
    return TooManyCalls(config_.max_concurrent_calls);
  }
  return absl::OkStatus();
}

absl::Status CallGate::Admit() {
  const absl::Status shutting_down = ShuttingDown();
  if (shutting_down_.load()) return shutting_down;
  const PipelineState state = pipeline_->state();
  if (state != PipelineState::kReady) return NotReady(state);
  // Count first, then check the flag again: BeginShutdown() sets the flag
  // before it waits for the count, so no admitted call is missed.
  in_flight_.fetch_add(1);
  const int now = slots_taken_.fetch_add(1) + 1;
  if (shutting_down_.load()) {
    ReleaseSlot();
    Release();
    return shutting_down;
  }
  if (now > config_.max_concurrent_calls) {
    ReleaseSlot();
    Release();
    return TooManyCalls(config_.max_concurrent_calls);
  }
  if (metrics_ != nullptr) metrics_->AddRequestsInFlight(1);
  return absl::OkStatus();
}

absl::Status CallGate::AdmitStream() {
  if (shutting_down_.load()) return ShuttingDown();
  if (const PipelineState state = pipeline_->state(); state != PipelineState::kReady) {
    return NotReady(state);
  }
  in_flight_.fetch_add(1);
  if (streams_open_.fetch_add(1) + 1 > config_.max_streams || shutting_down_.load()) {
    const bool late = shutting_down_.load();
    ReleaseStream();
    return late ? ShuttingDown()
                : WithReason(absl::ResourceExhaustedError(absl::StrCat(
                                 "too many streams (server.max_streams = ", config_.max_streams,
                                 "); retry later")),
                             ErrorReason::kTooManyStreams);
  }
  if (metrics_ != nullptr) metrics_->AddRequestsInFlight(1);
  return absl::OkStatus();
}

void CallGate::ReleaseStream() {
  streams_open_.fetch_sub(1);
  Release();
}

void CallGate::ReleaseSlot() { slots_taken_.fetch_sub(1); }

void CallGate::Release() {
  if (in_flight_.fetch_sub(1) == 1) {
    absl::MutexLock lock(&idle_mu_);  // wakes WaitForIdle on unlock
  }
}

bool CallGate::WaitForIdle(absl::Time deadline) {
  absl::MutexLock lock(&idle_mu_);
  auto idle = [this]() { return in_flight_.load() == 0; };
  return idle_mu_.AwaitWithDeadline(absl::Condition(&idle), deadline);
}

std::shared_ptr<ServerCall> ServerCall::Create(CallGate* gate, const char* rpc,
                                               grpc::CallbackServerContext* context) {
  std::shared_ptr<ServerCall> call(new ServerCall(gate, rpc, context));
  call->self_ = call;
  return call;
}

bool ServerCall::IsCancelled() {
  absl::MutexLock lock(&mu_);
  return finished_ || context_->IsCancelled();
}

CallContext ServerCall::ContextOf(const std::shared_ptr<ServerCall>& call) {
  CallContext ctx;
  const auto deadline = call->context_->deadline();
  if (deadline != std::chrono::system_clock::time_point::max()) {
    ctx.deadline = absl::FromChrono(deadline);
  } else if (call->gate_->config().default_deadline_ms > 0) {
    ctx.deadline = call->start_ + absl::Milliseconds(call->gate_->config().default_deadline_ms);
  }
  ctx.is_cancelled = [call]() { return call->IsCancelled(); };
  return ctx;
}

void ServerCall::FinishWith(const absl::Status& status) {
  if (gate_->metrics() != nullptr) {
    gate_->metrics()->OnRequest(rpc_, status.code(), absl::Now() - start_);
  }
  {
    absl::MutexLock lock(&mu_);
    finished_ = true;  // from here on the gRPC context may go away
  }
  if (admitted_) gate_->ReleaseSlot();
  Finish(ToGrpcStatus(status));
}

void ServerCall::OnDone() {
  std::shared_ptr<ServerCall> self = std::move(self_);  // may be the last reference
  if (admitted_) {
    if (gate_->metrics() != nullptr) gate_->metrics()->AddRequestsInFlight(-1);
    gate_->Release();
  }
}

}  // namespace faceserve
