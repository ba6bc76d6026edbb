// AnalyzeStream: one video stream's reactor (faceserve.v1.FaceService's
// bidirectional AnalyzeStream; its contract is in face_service.proto).
//
// The life of a stream: admission (API key, then CallGate::AdmitStream:
// its own budget, server.max_streams); the first message configures it;
// frames are read one at a time into a bounded queue (max_queued_frames):
// with OVERFLOW_BLOCK no read is started while the queue is full, so gRPC's
// flow control holds the client; with OVERFLOW_DROP_OLDEST reading goes on
// and the oldest waiting frame is skipped (reported in the next response).
// One frame at a time goes through the pipeline (detection frames: the
// whole Analyze, with the default embedding predictor added for the
// tracker, and the gallery searched when the stream identifies; the frames
// between: the tracker's prediction alone), so a
// stream never holds more than one frame's work, and frames of all streams
// meet in the same batches. Each result goes through the stream's
// FaceTracker and its TrackSummaries (best shot, smoothed attributes,
// identity from several frames) and out as one response; writes are one at
// a time, and
// processing waits while responses pile up, so a client that does not read
// stops the stream rather than growing its memory.
//
// Ends: the client closes its side (the frames held are answered, then an
// end_of_stream response ends every track with its summary, then OK);
// the client sends nothing for server.stream_idle_timeout_ms while a read
// waits (DEADLINE_EXCEEDED / STREAM_IDLE; the StreamRegistry's sweeper); an error (INVALID_ARGUMENT for a bad config or frame, the pipeline's
// errors); cancellation or the deadline; Stop() (SIGTERM: UNAVAILABLE /
// SHUTTING_DOWN). Every end frees the stream's state and budget.
//
// Thread-safety: gRPC and pipeline threads call in; one mutex guards the
// state, and gRPC operations are started outside it. Finish() waits for
// every thread between its Plan and its Run (Settle), since OnDone() may
// follow Finish() at once and delete the reactor.
#ifndef FACESERVE_SERVER_ANALYZE_STREAM_H_
#define FACESERVE_SERVER_ANALYZE_STREAM_H_

#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/identification/identifier.h"
#include "core/pipeline/face_pipeline.h"
#include "core/tracking/face_tracker.h"
#include "core/tracking/track_summary.h"
#include "faceserve/v1/face_service.grpc.pb.h"
#include "server/call_admission.h"
#include "server/stream_registry.h"

namespace faceserve {

class AnalyzeStream final
    : public grpc::ServerBidiReactor<v1::StreamRequest, v1::StreamResponse> {
 public:
  // Starts a stream on `context`; the reactor deletes itself in OnDone().
  // `identifier`: null when the server has no galleries.
  static AnalyzeStream* Start(CallGate* gate, FacePipeline* pipeline, Identifier* identifier,
                              StreamRegistry* registry, grpc::CallbackServerContext* context);

  // Ends the stream with `status` (SIGTERM). Safe from any thread, once.
  void Stop(const absl::Status& status);
  // Ends the stream with STREAM_IDLE when a read has waited for the client
  // since before `now - idle_timeout`.
  void StopIfIdle(absl::Time now, absl::Duration idle_timeout);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  struct Frame {
    v1::StreamFrame message;
    bool detect = true;
    absl::Time received;  // for the latency metric
  };
  // What to do with gRPC once the mutex is released.
  struct Actions {
    bool read = false;
    const v1::StreamResponse* write = nullptr;
    bool process = false;
    Frame frame;
  };

  AnalyzeStream(CallGate* gate, FacePipeline* pipeline, Identifier* identifier,
                StreamRegistry* registry, grpc::CallbackServerContext* context);
  // Starts what Plan decided, then Settle().
  void Run(Actions actions);
  // Decides the next steps from the state; every Plan is followed by one Run.
  void Plan(Actions* actions) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends a Run: the last thread out of Plan..Run calls Finish() once the end
  // is decided and nothing is in flight, so that no thread still holds the
  // reactor when OnDone() deletes it.
  void Settle();
  // Decides the end: `status`, the frames held dropped.
  void FailLocked(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Configure(const v1::StreamConfig& config) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Accept(v1::StreamFrame frame) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One frame through the pipeline and the tracker; Done() when answered.
  void Process(Frame frame);
  // A detected frame's analysis (with one identity per face when the stream
  // identifies) through the tracker and the track summaries, into `response`.
  absl::Status Track(absl::Duration time, AnalyzeResult result, std::vector<Identity> identities,
                     bool return_embeddings, const std::string& descriptor_predictor,
                     bool strip_descriptor, v1::StreamResponse* response);
  // The tracks' events into `response`, each ended one with its summary.
  void AddEvents(const std::vector<TrackEvent>& events, v1::StreamResponse* response)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The last response: every track still live ended, with its summary.
  v1::StreamResponse EndOfStream() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `received`: when the frame arrived.
  void Done(absl::StatusOr<v1::StreamResponse> response,
            absl::Time received = absl::InfinitePast());

  CallGate* const gate_;
  FacePipeline* const pipeline_;
  Identifier* const identifier_;
  StreamRegistry* const registry_;
  grpc::CallbackServerContext* const context_;
  const absl::Time start_;
  v1::StreamRequest read_;  // the read in progress

  absl::Mutex mu_;
  bool admitted_ ABSL_GUARDED_BY(mu_) = false;
  bool slot_held_ ABSL_GUARDED_BY(mu_) = false;  // admitted, Finish() not yet planned
  bool configured_ ABSL_GUARDED_BY(mu_) = false;
  v1::AnalyzeOptions options_ ABSL_GUARDED_BY(mu_);
  // The default embedding predictor, run for the tracker's re-linking even
  // when the client did not ask for it (then left out of the answers, and
  // run only on the faces FaceTracker::DescriptorsWanted names); empty: none
  // configured.
  std::string descriptor_predictor_ ABSL_GUARDED_BY(mu_);
  int detect_every_ ABSL_GUARDED_BY(mu_) = 1;
  bool drop_oldest_ ABSL_GUARDED_BY(mu_) = true;
  size_t max_queued_ ABSL_GUARDED_BY(mu_) = 2;
  bool best_shots_ ABSL_GUARDED_BY(mu_) = false;  // crops for the best shots
  std::unique_ptr<FaceTracker> tracker_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<TrackSummaries> summaries_ ABSL_GUARDED_BY(mu_);
  bool end_sent_ ABSL_GUARDED_BY(mu_) = false;  // the end_of_stream response is queued
  int64_t last_sequence_ ABSL_GUARDED_BY(mu_) = 0;  // of the last frame answered
  int64_t last_answered_us_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t frames_seen_ ABSL_GUARDED_BY(mu_) = 0;
  bool have_timestamp_ ABSL_GUARDED_BY(mu_) = false;
  int64_t last_timestamp_us_ ABSL_GUARDED_BY(mu_) = 0;

  bool reading_ ABSL_GUARDED_BY(mu_) = false;      // a read is outstanding
  absl::Time read_started_ ABSL_GUARDED_BY(mu_);  // when it began
  int reported_tracks_ ABSL_GUARDED_BY(mu_) = 0;  // in faceserve_stream_tracks
  bool read_closed_ ABSL_GUARDED_BY(mu_) = false;  // the client closed its side
  std::deque<Frame> queue_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> skipped_ ABSL_GUARDED_BY(mu_);
  bool processing_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<v1::StreamResponse> replies_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  // Threads between a Plan and the end of its Run (Settle).
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;    // the end is decided
  bool finish_sent_ ABSL_GUARDED_BY(mu_) = false;  // Finish() called
  absl::Status end_ ABSL_GUARDED_BY(mu_);
  // The pipeline's is_cancelled, shared: it may outlive the stream.
  const std::shared_ptr<std::atomic<bool>> cancel_flag_;
};

}  // namespace faceserve

#endif  // FACESERVE_SERVER_ANALYZE_STREAM_H_
