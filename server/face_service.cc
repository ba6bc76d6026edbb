#include "server/face_service.h"

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/error_reason.h"
#include "proto/rpc_status.h"
#include "server/metrics.h"
#include "server/proto_convert.h"

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

// One RPC: its reactor and the state shared with the pipeline's `done` and
// `is_cancelled` (which the pipeline may still hold after the call is over).
//
// Lifetime: shared. gRPC's reference (self_) is dropped in OnDone(), once the
// response has been sent or the call has failed; the pipeline's callbacks
// hold their own references.
//
// Two counts: the call's concurrency slot (server.max_concurrent_calls) is
// released in FinishWith(), before the response is sent, so that a client
// that has its response can always make the next call; the in-flight count
// is released in OnDone(), so that WaitForIdle() means "every response is
// out" (a shutdown must not cancel a response still in transit).
class FaceServiceImpl::Call final : public grpc::ServerUnaryReactor {
 public:
  // Creates the call and gives gRPC its reference; returns the reactor.
  static std::shared_ptr<Call> Create(FaceServiceImpl* service, const char* rpc,
                                      grpc::CallbackServerContext* context) {
    std::shared_ptr<Call> call(new Call(service, rpc, context));
    call->self_ = call;
    return call;
  }

  grpc::CallbackServerContext* context() const { return context_; }
  absl::Time start() const { return start_; }
  // Admit() succeeded: FinishWith() releases the slot, OnDone() the
  // in-flight count.
  void set_admitted() { admitted_ = true; }

  // Safe from any thread, before or after the call is over.
  bool IsCancelled() {
    absl::MutexLock lock(&mu_);
    return finished_ || context_->IsCancelled();
  }

  // Records the outcome and finishes the RPC. Called exactly once; the
  // response message must be complete.
  void FinishWith(const absl::Status& status) {
    if (service_->metrics_ != nullptr) {
      service_->metrics_->OnRequest(rpc_, status.code(), absl::Now() - start_);
    }
    {
      absl::MutexLock lock(&mu_);
      finished_ = true;  // from here on the gRPC context may go away
    }
    if (admitted_) service_->ReleaseSlot();
    Finish(ToGrpcStatus(status));
  }

  void OnDone() override {
    std::shared_ptr<Call> self = std::move(self_);  // may be the last reference
    if (admitted_) {
      if (service_->metrics_ != nullptr) service_->metrics_->AddRequestsInFlight(-1);
      service_->Release();
    }
  }
  void OnCancel() override {}  // the pipeline polls IsCancelled()

 private:
  Call(FaceServiceImpl* service, const char* rpc, grpc::CallbackServerContext* context)
      : service_(service), rpc_(rpc), start_(absl::Now()), context_(context) {}

  FaceServiceImpl* const service_;
  const char* const rpc_;
  const absl::Time start_;
  grpc::CallbackServerContext* const context_;
  bool admitted_ = false;  // set before the pipeline sees the call
  std::shared_ptr<Call> self_;  // gRPC's reference, until OnDone()
  absl::Mutex mu_;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

FaceServiceImpl::FaceServiceImpl(const ServerConfig& config, FacePipeline* pipeline,
                                 Metrics* metrics)
    : config_(config), pipeline_(pipeline), metrics_(metrics) {}

FaceServiceImpl::~FaceServiceImpl() = default;

absl::Status FaceServiceImpl::Admit() {
  const absl::Status shutting_down =
      WithReason(absl::UnavailableError("server is shutting down"), ErrorReason::kShuttingDown);
  if (shutting_down_.load()) return shutting_down;
  const PipelineState state = pipeline_->state();
  if (state != PipelineState::kReady) {
    return WithReason(absl::UnavailableError(absl::StrCat("server not ready: ", StateName(state))),
                      state == PipelineState::kShuttingDown ? ErrorReason::kShuttingDown
                                                            : ErrorReason::kModelsNotReady);
  }
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
    return WithReason(absl::ResourceExhaustedError(
                          absl::StrCat("too many concurrent calls (server.max_concurrent_calls = ",
                                       config_.max_concurrent_calls, "); retry later")),
                      ErrorReason::kTooManyCalls);
  }
  if (metrics_ != nullptr) metrics_->AddRequestsInFlight(1);
  return absl::OkStatus();
}

void FaceServiceImpl::ReleaseSlot() { slots_taken_.fetch_sub(1); }

void FaceServiceImpl::Release() {
  if (in_flight_.fetch_sub(1) == 1) {
    absl::MutexLock lock(&idle_mu_);  // wakes WaitForIdle on unlock
  }
}

void FaceServiceImpl::BeginShutdown() { shutting_down_.store(true); }

bool FaceServiceImpl::WaitForIdle(absl::Time deadline) {
  absl::MutexLock lock(&idle_mu_);
  auto idle = [this]() { return in_flight_.load() == 0; };
  return idle_mu_.AwaitWithDeadline(absl::Condition(&idle), deadline);
}

CallContext FaceServiceImpl::MakeCallContext(const std::shared_ptr<Call>& call) const {
  CallContext ctx;
  const auto deadline = call->context()->deadline();
  if (deadline != std::chrono::system_clock::time_point::max()) {
    ctx.deadline = absl::FromChrono(deadline);
  } else if (config_.default_deadline_ms > 0) {
    ctx.deadline = call->start() + absl::Milliseconds(config_.default_deadline_ms);
  }
  ctx.is_cancelled = [call]() { return call->IsCancelled(); };
  return ctx;
}

template <typename Request, typename Parsed, typename Run>
grpc::ServerUnaryReactor* FaceServiceImpl::Start(const char* rpc,
                                                 grpc::CallbackServerContext* context,
                                                 const Request& request,
                                                 absl::StatusOr<Parsed> (*parse)(const Request&),
                                                 Run run) {
  std::shared_ptr<Call> call = Call::Create(this, rpc, context);
  grpc::ServerUnaryReactor* reactor = call.get();  // alive until OnDone()
  if (absl::Status admitted = Admit(); !admitted.ok()) {
    call->FinishWith(admitted);
    return reactor;
  }
  call->set_admitted();
  absl::StatusOr<Parsed> parsed = parse(request);
  if (!parsed.ok()) {
    call->FinishWith(parsed.status());
    return reactor;
  }
  run(std::move(call), *std::move(parsed));
  return reactor;
}

grpc::ServerUnaryReactor* FaceServiceImpl::Analyze(grpc::CallbackServerContext* context,
                                                   const v1::AnalyzeRequest* request,
                                                   v1::AnalyzeResponse* response) {
  return Start("Analyze", context, *request, &AnalyzeCallFromProto,
               [this, response](std::shared_ptr<Call> call, AnalyzeCall in) {
                 const bool return_embeddings = in.options.return_embeddings;
                 pipeline_->Analyze(
                     std::move(in.image), std::move(in.options), MakeCallContext(call),
                     [call, response, return_embeddings](absl::StatusOr<AnalyzeResult> result) {
                       if (result.ok()) AnalyzeResultToProto(*result, return_embeddings, response);
                       call->FinishWith(result.status());
                     });
               });
}

grpc::ServerUnaryReactor* FaceServiceImpl::Embed(grpc::CallbackServerContext* context,
                                                 const v1::EmbedRequest* request,
                                                 v1::EmbedResponse* response) {
  return Start("Embed", context, *request, &EmbedCallFromProto,
               [this, response](std::shared_ptr<Call> call, EmbedCall in) {
                 pipeline_->Embed(std::move(in.image), std::move(in.options), MakeCallContext(call),
                                  [call, response](absl::StatusOr<EmbedResult> result) {
                                    if (result.ok()) EmbedResultToProto(*result, response);
                                    call->FinishWith(result.status());
                                  });
               });
}

grpc::ServerUnaryReactor* FaceServiceImpl::Verify(grpc::CallbackServerContext* context,
                                                  const v1::VerifyRequest* request,
                                                  v1::VerifyResponse* response) {
  return Start("Verify", context, *request, &VerifyCallFromProto,
               [this, response](std::shared_ptr<Call> call, VerifyCall in) {
                 pipeline_->Verify(std::move(in.a), std::move(in.b), std::move(in.options),
                                   MakeCallContext(call),
                                   [call, response](absl::StatusOr<VerifyResult> result) {
                                     if (result.ok()) VerifyResultToProto(*result, response);
                                     call->FinishWith(result.status());
                                   });
               });
}

}  // namespace faceserve
