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
// Analyze with `options.identify` goes through the Identifier (galleries);
// without one (gallery.backend: none) it fails with FAILED_PRECONDITION.
//
// Admission (server/call_admission.h, shared with GalleryService), in this
// order, before any work:
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

#include "absl/time/time.h"
#include "core/config/config.h"
#include "core/identification/identifier.h"
#include "core/pipeline/face_pipeline.h"
#include "faceserve/v1/face_service.grpc.pb.h"
#include "server/analyze_stream.h"
#include "server/call_admission.h"

namespace faceserve {

class Metrics;

class FaceServiceImpl final : public v1::FaceService::CallbackService {
 public:
  // `identifier` may be null (no galleries), `access` too (no API keys:
  // every call allowed).
  FaceServiceImpl(const ServerConfig& config, FacePipeline* pipeline, Metrics* metrics,
                  Identifier* identifier = nullptr, AccessControl* access = nullptr);
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
  // Video: server/analyze_stream.h.
  grpc::ServerBidiReactor<v1::StreamRequest, v1::StreamResponse>* AnalyzeStream(
      grpc::CallbackServerContext* context) override;

  // Admission of this service's calls, for the other services of the same
  // server to share.
  CallGate* gate() { return &gate_; }
  // From now on every new call fails with UNAVAILABLE; calls in flight go on,
  // and open streams end with UNAVAILABLE / SHUTTING_DOWN.
  void BeginShutdown();
  // Waits until no call is in flight or `deadline` passes; true when idle.
  bool WaitForIdle(absl::Time deadline) { return gate_.WaitForIdle(deadline); }
  int in_flight() const { return gate_.in_flight(); }

 private:
  FacePipeline* const pipeline_;
  Identifier* const identifier_;
  CallGate gate_;
  StreamRegistry streams_;
};

}  // namespace faceserve

#endif  // FACESERVE_SERVER_FACE_SERVICE_H_
