// FaceServiceImpl: the faceserve.v1.FaceService RPCs on gRPC's callback API.
//
// Thin by design: each handler returns its reactor at once, converts the
// request (server/proto_convert.h), calls the asynchronous FacePipeline and
// calls Finish() from the pipeline's `done` callback, on a pipeline thread.
// No thread waits for a request. The reactor is a small class of our own
// rather than context->DefaultReactor(), for its OnDone() hook: a call keeps
// its concurrency slot until its response is out, so a graceful shutdown
// never cancels a response that is still in transit.
//
// Admission, in this order, before any work:
//  * UNAVAILABLE while BeginShutdown() has been called or the pipeline's
//    state() is not kReady (loading, warming, failed) — retry elsewhere/later;
//  * RESOURCE_EXHAUSTED when `server.max_concurrent_calls` calls are already
//    in flight (an atomic counter; retryable);
//  * INVALID_ARGUMENT for malformed requests.
// The pipeline gets a CallContext whose deadline is the client's (or now +
// `server.default_deadline_ms` when the client set none) and whose
// is_cancelled reports the client's cancellation (and stays true once the
// call has finished, so the pipeline may ask late without touching a dead
// gRPC context).
//
// Ownership: `pipeline` and `metrics` are not owned and must outlive the
// gRPC server this service is registered with; `metrics` may be null.
// Thread-safety: all methods are safe to call concurrently.
#ifndef FACESERVE_SERVER_FACE_SERVICE_H_
#define FACESERVE_SERVER_FACE_SERVICE_H_

#include <atomic>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/config/config.h"
#include "core/pipeline/face_pipeline.h"
#include "faceserve/v1/face_service.grpc.pb.h"

namespace faceserve {

class Metrics;

class FaceServiceImpl final : public v1::FaceService::CallbackService {
 public:
  FaceServiceImpl(const ServerConfig& config, FacePipeline* pipeline, Metrics* metrics);
  ~FaceServiceImpl() override;

  grpc::ServerUnaryReactor* Analyze(grpc::CallbackServerContext* context,
                                    const v1::AnalyzeRequest* request,
                                    v1::AnalyzeResponse* response) override;
  grpc::ServerUnaryReactor* Embed(grpc::CallbackServerContext* context,
                                  const v1::EmbedRequest* request,
                                  v1::EmbedResponse* response) override;
  grpc::ServerUnaryReactor* Verify(grpc::CallbackServerContext* context,
                                   const v1::VerifyRequest* request,
                                   v1::VerifyResponse* response) override;

  // From now on every new call fails with UNAVAILABLE; calls in flight go on.
  void BeginShutdown();
  // Waits until no call is in flight or `deadline` passes; true when idle.
  bool WaitForIdle(absl::Time deadline);
  int in_flight() const { return in_flight_.load(); }

  // Implementation details follow. API users need not read.
 private:
  class Call;  // per-call state shared with the pipeline's callbacks

  // OK with one more slot taken and one more call in flight, or the status
  // to reject with.
  absl::Status Admit();
  // One slot free again (the call's result is complete, its response about
  // to be sent).
  void ReleaseSlot();
  // One call fewer in flight (when its response is out); wakes WaitForIdle().
  void Release();
  CallContext MakeCallContext(const std::shared_ptr<Call>& call) const;
  // What every RPC does first: admit the call, convert its request with
  // `parse` (INVALID_ARGUMENT finishes it), then `run(call, parsed)`, which
  // must finish the call exactly once. Returns the call's reactor.
  template <typename Request, typename Parsed, typename Run>
  grpc::ServerUnaryReactor* Start(const char* rpc, grpc::CallbackServerContext* context,
                                  const Request& request,
                                  absl::StatusOr<Parsed> (*parse)(const Request&), Run run);

  // Constant after construction.
  const ServerConfig config_;
  FacePipeline* const pipeline_;
  Metrics* const metrics_;

  std::atomic<int> slots_taken_{0};  // calls admitted and not yet finished
  std::atomic<int> in_flight_{0};    // calls admitted and not yet done (OnDone)
  std::atomic<bool> shutting_down_{false};
  // Held (empty critical section) when in_flight_ drops to zero, so that
  // WaitForIdle's condition is re-evaluated.
  absl::Mutex idle_mu_;
};

}  // namespace faceserve

#endif  // FACESERVE_SERVER_FACE_SERVICE_H_
