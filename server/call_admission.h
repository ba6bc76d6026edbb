// What every RPC of every faceserve service shares (FaceService,
// GalleryService): admission (server.max_concurrent_calls over all of
// them, refusal while not ready or shutting down), the in-flight count a
// graceful shutdown waits for, the call's deadline and cancellation for the
// pipeline, and one place that finishes a call and records its metrics.
//
// CallGate counts and checks API keys; ServerCall is one RPC's reactor;
// StartCall is the one handler prologue: check the caller's key against what
// the request needs (server/access_policy.h), admit, parse
// (INVALID_ARGUMENT finishes the call), run.
//
// Thread-safety: all methods are safe to call concurrently. `pipeline`,
// `metrics` and `access` (both may be null) are not owned and must outlive
// the gate.
#ifndef FACESERVE_SERVER_CALL_ADMISSION_H_
#define FACESERVE_SERVER_CALL_ADMISSION_H_

#include <atomic>
#include <memory>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/auth/access_control.h"
#include "core/config/config.h"
#include "core/pipeline/call_context.h"
#include "core/pipeline/face_pipeline.h"
#include "server/access_policy.h"

namespace faceserve {

class Metrics;

class CallGate {
 public:
  CallGate(const ServerConfig& config, FacePipeline* pipeline, Metrics* metrics,
           AccessControl* access = nullptr)
      : config_(config), pipeline_(pipeline), metrics_(metrics), access_(access) {}

  // Who the call is (its `authorization` metadata) and whether that key may
  // do what `need` says: UNAUTHENTICATED or PERMISSION_DENIED otherwise,
  // counted by reason in the metrics. Without access control: everyone.
  absl::StatusOr<Caller> CheckAccess(const grpc::CallbackServerContext& context,
                                     const AccessNeed& need);

  // OK with one more slot taken and one more call in flight, or the status
  // to reject with: UNAVAILABLE (SHUTTING_DOWN, MODELS_NOT_READY),
  // RESOURCE_EXHAUSTED (TOO_MANY_CALLS).
  absl::Status Admit();
  // What Admit() would say to a call arriving now, without taking a slot. A
  // hint (the answer may change at once): the HTTP API refuses with it
  // before reading a request's body, so that a refusal costs next to nothing.
  absl::Status Preview() const;
  // A stream's admission (AnalyzeStream): as Admit() for readiness and
  // shutdown, then RESOURCE_EXHAUSTED / TOO_MANY_STREAMS with
  // server.max_streams streams open. OK: one more stream open and one more
  // call in flight, until ReleaseStream(). Streams take no call slot: each
  // holds at most one frame in the pipeline, within their own budget.
  absl::Status AdmitStream();
  void ReleaseStream();
  // One slot free again (the call's result is complete).
  void ReleaseSlot();
  // One call fewer in flight (its response is out); wakes WaitForIdle().
  void Release();
  // From now on every new call fails with UNAVAILABLE; calls in flight go on.
  void BeginShutdown() { shutting_down_.store(true); }
  bool shutting_down() const { return shutting_down_.load(); }
  // Waits until no call is in flight or `deadline` passes; true when idle.
  bool WaitForIdle(absl::Time deadline);
  int in_flight() const { return in_flight_.load(); }

  const ServerConfig& config() const { return config_; }
  Metrics* metrics() const { return metrics_; }
  AccessControl* access() const { return access_; }

 private:
  const ServerConfig config_;
  FacePipeline* const pipeline_;
  Metrics* const metrics_;
  AccessControl* const access_;
  std::atomic<int> slots_taken_{0};  // calls admitted and not yet finished
  std::atomic<int> in_flight_{0};    // calls admitted and not yet done (OnDone)
  std::atomic<int> streams_open_{0};
  std::atomic<bool> shutting_down_{false};
  // Held (empty critical section) when in_flight_ drops to zero, so that
  // WaitForIdle's condition is re-evaluated.
  absl::Mutex idle_mu_;
};

// One RPC: its reactor and the state shared with the pipeline's `done` and
// `is_cancelled` (which the pipeline may still hold after the call is over).
//
// Lifetime: shared. gRPC's reference is dropped in OnDone(), once the
// response has been sent or the call has failed; callbacks hold their own.
// Two counts: the concurrency slot is released in FinishWith(), before the
// response is sent, so that a client that has its response can always make
// the next call; the in-flight count in OnDone(), so that WaitForIdle()
// means "every response is out".
class ServerCall final : public grpc::ServerUnaryReactor {
 public:
  // Creates the call and gives gRPC its reference.
  static std::shared_ptr<ServerCall> Create(CallGate* gate, const char* rpc,
                                            grpc::CallbackServerContext* context);

  // Admit() succeeded: FinishWith() releases the slot, OnDone() the
  // in-flight count.
  void set_admitted() { admitted_ = true; }
  // The caller, once CheckAccess() let it in (set before anyone else sees
  // the call).
  void set_caller(Caller caller) { caller_ = std::move(caller); }
  const Caller& caller() const { return caller_; }
  // Safe from any thread, before or after the call is over.
  bool IsCancelled();
  // The deadline (the client's, or now + server.default_deadline_ms) and
  // cancellation, for the pipeline.
  static CallContext ContextOf(const std::shared_ptr<ServerCall>& call);
  // Records the outcome and finishes the RPC. Called exactly once; the
  // response message must be complete.
  void FinishWith(const absl::Status& status);

  void OnDone() override;
  void OnCancel() override {}  // the pipeline polls IsCancelled()

 private:
  ServerCall(CallGate* gate, const char* rpc, grpc::CallbackServerContext* context)
      : gate_(gate), rpc_(rpc), start_(absl::Now()), context_(context) {}

  CallGate* const gate_;
  const char* const rpc_;
  const absl::Time start_;
  grpc::CallbackServerContext* const context_;
  bool admitted_ = false;  // set before anyone else sees the call
  Caller caller_;          // likewise
  std::shared_ptr<ServerCall> self_;  // gRPC's reference, until OnDone()
  absl::Mutex mu_;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

// The one handler prologue: checks the caller's API key against
// NeedOf(request), admits the call, converts its request with `parse` (an
// error finishes it), then `run(call, parsed)`, which must finish the call
// exactly once. Returns the call's reactor. A refused key takes no slot.
template <typename Request, typename Parsed, typename Run>
grpc::ServerUnaryReactor* StartCall(CallGate* gate, const char* rpc,
                                    grpc::CallbackServerContext* context, const Request& request,
                                    absl::StatusOr<Parsed> (*parse)(const Request&), Run run) {
  std::shared_ptr<ServerCall> call = ServerCall::Create(gate, rpc, context);
  grpc::ServerUnaryReactor* reactor = call.get();  // alive until OnDone()
  absl::StatusOr<Caller> caller = gate->CheckAccess(*context, NeedOf(request));
  if (!caller.ok()) {
    call->FinishWith(caller.status());
    return reactor;
  }
  call->set_caller(*std::move(caller));
  if (absl::Status admitted = gate->Admit(); !admitted.ok()) {
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

}  // namespace faceserve

#endif  // FACESERVE_SERVER_CALL_ADMISSION_H_
