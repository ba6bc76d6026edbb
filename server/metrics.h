// Metrics: the server's Prometheus metrics (prometheus-cpp registry and text
// format). Scrape() is served at /metrics on `metrics.listen` by
// server/probe_server.h (not prometheus::Exposer: civetweb creates its
// threads with a fixed 100 KiB stack, below the static TLS of a process
// that links LibTorch, so they cannot start).
//
// It is the pipeline's BatchObserver and StageObserver and the gRPC layer's
// request recorder. Families (base units, bounded labels):
//   faceserve_stage_duration_seconds{stage,model}      histogram
//   faceserve_queue_wait_seconds{model}                 histogram
//   faceserve_batch_execution_seconds{model}            histogram
//   faceserve_batch_size{model}                         histogram 1..64
//   faceserve_faces_per_image                           histogram
//   faceserve_request_duration_seconds{rpc}             histogram
//   faceserve_requests_total{rpc,code}                  counter
//   faceserve_dropped_items_total{model,reason}         counter
//   faceserve_requests_in_flight                        gauge
//   faceserve_queue_depth{model}                        gauge
//   faceserve_preheat_duration_seconds                  gauge
//   faceserve_model_info{model,version,device,dtype,role} gauge = 1
//   faceserve_build_info{version,torch_version,grpc_version} gauge = 1
//   faceserve_gallery_faces{gallery}                    gauge
//   faceserve_gallery_search_seconds                    histogram (one pass)
//   faceserve_gallery_search_queries_per_pass           histogram 1..256
//   faceserve_gallery_enroll_inputs_total{outcome}      counter: accepted, or
//                                                       the gate's rule
//   faceserve_gallery_store_in_step                     gauge 1/0 (a shared
//   faceserve_gallery_store_last_read_timestamp_seconds gauge  store's change
//   faceserve_gallery_store_change                      gauge  log; issue 33)
//   faceserve_access_refusals_total{reason}             counter: API key
//                                                       refusals by reason
//   faceserve_http_requests_total{route,status}         counter (HTTP API)
//   faceserve_http_request_duration_seconds{route}      histogram
//   faceserve_streams_active                            gauge (AnalyzeStream)
//   faceserve_stream_frames_total{outcome}              counter: received,
//                                                       processed, dropped
//   faceserve_stream_tracks                             gauge: live tracks of
//                                                       every open stream
//   faceserve_stream_frame_latency_seconds              histogram: a frame's
//                                                       arrival to its answer
// Latency histograms have buckets 100 us * 2^k, k = 0..18 (up to ~26 s).
//
// Label children are created on first use and cached, so the hot paths do a
// map lookup under a reader lock and an atomic update.
//
// Thread-safety: every method is safe to call concurrently. The header is
// free of prometheus-cpp and gRPC types.
#ifndef FACESERVE_SERVER_METRICS_H_
#define FACESERVE_SERVER_METRICS_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/batching/batched_model.h"
#include "core/config/config.h"
#include "core/pipeline/face_pipeline.h"

namespace faceserve {

class Metrics final : public BatchObserver, public StageObserver {
 public:
  // Builds the registry with every family.
  static std::unique_ptr<Metrics> Create();

  ~Metrics() override;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // BatchObserver.
  void OnBatch(const std::string& model, int batch_size,
               const std::vector<absl::Duration>& queue_waits,
               absl::Duration execution) override;
  void OnDrop(const std::string& model, DropReason reason) override;
  void OnQueueDepth(const std::string& model, int depth) override;

  // StageObserver.
  void OnStage(const std::string& stage, const std::string& model,
               absl::Duration duration) override;
  void OnFacesPerImage(int faces) override;

  // Requests. `rpc` is the method name ("Analyze", "Embed", "Verify"); the
  // code label is the canonical name ("OK", "INVALID_ARGUMENT", ...).
  void OnRequest(absl::string_view rpc, absl::StatusCode code, absl::Duration latency);
  // Adds `delta` (+1 / -1) to faceserve_requests_in_flight.
  void AddRequestsInFlight(int delta);

  // Galleries. A pass of the search batcher over `queries` queries.
  void OnGallerySearchPass(int queries, absl::Duration elapsed);
  // One Enroll input: "accepted" or the rejection's rule.
  void OnEnrollInput(const std::string& outcome);
  // An HTTP API request: its route's path ("other" for unknown paths), its
  // HTTP status and its latency.
  void OnHttpRequest(const std::string& route, int status, absl::Duration latency);
  // Video streams: +1 / -1 open streams; frames by outcome ("received",
  // "processed", "dropped"); +/- live tracks; one frame's latency.
  void AddActiveStreams(int delta);
  void OnStreamFrames(const char* outcome, int frames);
  void AddStreamTracks(int delta);
  void OnStreamFrameLatency(absl::Duration latency);
  // A call refused for its API key, by its reason's name (never the key).
  void OnAccessRefused(const std::string& reason);
  // Faces in `gallery` now; RemoveGallery drops its series.
  void SetGalleryFaces(const std::string& gallery, int64_t faces);
  void RemoveGallery(const std::string& gallery);
  // Every gallery's faces at once: series of galleries not in `faces` go
  // (galleries another replica deleted).
  void SyncGalleryFaces(const std::map<std::string, int64_t>& faces);
  // A shared store's change log was read (in_step) or could not be.
  void OnGalleryStoreRead(bool in_step, absl::Time last_read, int64_t change);

  // Process facts, set once.
  void SetPreheatDuration(absl::Duration duration);
  // Also starts each model's faceserve_dropped_items_total (every reason) and
  // faceserve_queue_depth series at 0, so that they exist before any drop.
  void SetModelInfo(const std::vector<ModelInfo>& models);
  void SetBuildInfo(const std::string& version, const std::string& torch_version,
                    const std::string& grpc_version);

  // Everything in the Prometheus text exposition format, as a scrape sees it.
  std::string Scrape() const;

  // The label value of a DropReason: deadline, cancelled, queue_full, shutdown.
  static const char* DropReasonName(DropReason reason);

 private:
  struct Impl;
  explicit Metrics(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace faceserve

#endif  // FACESERVE_SERVER_METRICS_H_
