#include "server/metrics.h"

#include <cmath>
#include <functional>
#include <map>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace faceserve {
namespace {

prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  prometheus::Histogram::BucketBoundaries b;
  for (int k = 0; k <= 18; ++k) b.push_back(1e-4 * std::ldexp(1.0, k));  // 100 us .. 26.2 s
  return b;
}

// Children of one family, keyed by their label values, created on first use.
// Children are never removed, so the returned references stay valid.
template <typename T>
class LabelCache {
 public:
  using Factory = std::function<T&(prometheus::Family<T>&, const prometheus::Labels&)>;

  LabelCache(prometheus::Family<T>* family, std::vector<std::string> label_names,
             Factory factory)
      : family_(family), label_names_(std::move(label_names)), factory_(std::move(factory)) {}

  T& Get(const std::vector<std::string>& values) {
    std::string key;
    for (const std::string& v : values) absl::StrAppend(&key, v, "\x1f");
    {
      absl::ReaderMutexLock lock(&mu_);
      auto it = children_.find(key);
      if (it != children_.end()) return *it->second;
    }
    absl::MutexLock lock(&mu_);
    auto it = children_.find(key);
    if (it != children_.end()) return *it->second;
    prometheus::Labels labels;
    for (size_t i = 0; i < label_names_.size(); ++i) labels[label_names_[i]] = values[i];
    T* child = &factory_(*family_, labels);
    children_.emplace(std::move(key), child);
    return *child;
  }

 private:
  prometheus::Family<T>* const family_;
  const std::vector<std::string> label_names_;
  const Factory factory_;
  absl::Mutex mu_;
  std::unordered_map<std::string, T*> children_ ABSL_GUARDED_BY(mu_);
};

LabelCache<prometheus::Histogram>::Factory HistogramFactory(
    prometheus::Histogram::BucketBoundaries buckets) {
  return [buckets = std::move(buckets)](prometheus::Family<prometheus::Histogram>& family,
                                        const prometheus::Labels& labels)
             -> prometheus::Histogram& { return family.Add(labels, buckets); };
}

template <typename T>
typename LabelCache<T>::Factory PlainFactory() {
  return [](prometheus::Family<T>& family, const prometheus::Labels& labels) -> T& {
    return family.Add(labels);
  };
}

}  // namespace

struct Metrics::Impl {
  Impl()
      : registry(std::make_shared<prometheus::Registry>()),
        stage_duration_family(prometheus::BuildHistogram()
                                  .Name("faceserve_stage_duration_seconds")
                                  .Help("Wall time of one pipeline stage for one request, "
                                        "queueing included.")
                                  .Register(*registry)),
        queue_wait_family(prometheus::BuildHistogram()
                              .Name("faceserve_queue_wait_seconds")
                              .Help("Time an item waited in a model's batch queue.")
                              .Register(*registry)),
        batch_execution_family(prometheus::BuildHistogram()
                                   .Name("faceserve_batch_execution_seconds")
                                   .Help("Model execution time of one batch.")
                                   .Register(*registry)),
        batch_size_family(prometheus::BuildHistogram()
                              .Name("faceserve_batch_size")
                              .Help("Items per executed batch.")
                              .Register(*registry)),
        faces_per_image_family(prometheus::BuildHistogram()
                                   .Name("faceserve_faces_per_image")
                                   .Help("Faces detected per analysed image.")
                                   .Register(*registry)),
        request_duration_family(prometheus::BuildHistogram()
                                    .Name("faceserve_request_duration_seconds")
                                    .Help("Server-side latency of an RPC, from arrival to "
                                          "the response being handed to gRPC.")
                                    .Register(*registry)),
        requests_family(prometheus::BuildCounter()
                            .Name("faceserve_requests_total")
                            .Help("RPCs finished, by method and status code.")
                            .Register(*registry)),
        dropped_family(prometheus::BuildCounter()
                           .Name("faceserve_dropped_items_total")
                           .Help("Items that left a batch queue without being computed.")
                           .Register(*registry)),
        in_flight_family(prometheus::BuildGauge()
                             .Name("faceserve_requests_in_flight")
                             .Help("RPCs accepted and not yet finished.")
                             .Register(*registry)),
        queue_depth_family(prometheus::BuildGauge()
                               .Name("faceserve_queue_depth")
                               .Help("Items waiting in a model's batch queue.")
                               .Register(*registry)),
        preheat_family(prometheus::BuildGauge()
                           .Name("faceserve_preheat_duration_seconds")
                           .Help("Time the start-up preheat of every model took.")
                           .Register(*registry)),
        model_info_family(prometheus::BuildGauge()
                              .Name("faceserve_model_info")
                              .Help("Loaded models (value 1).")
                              .Register(*registry)),
        build_info_family(prometheus::BuildGauge()
                              .Name("faceserve_build_info")
                              .Help("Build facts (value 1).")
                              .Register(*registry)),
        gallery_faces_family(prometheus::BuildGauge()
                                 .Name("faceserve_gallery_faces")
                                 .Help("Faces enrolled in a gallery (in memory, searchable).")
                                 .Register(*registry)),
        gallery_search_family(prometheus::BuildHistogram()
                                  .Name("faceserve_gallery_search_seconds")
                                  .Help("Time of one pass of exact gallery search (the "
                                        "searches of concurrent requests together).")
                                  .Register(*registry)),
        gallery_queries_family(prometheus::BuildHistogram()
                                   .Name("faceserve_gallery_search_queries_per_pass")
                                   .Help("Faces searched in one pass over a gallery.")
                                   .Register(*registry)),
        enroll_family(prometheus::BuildCounter()
                          .Name("faceserve_gallery_enroll_inputs_total")
                          .Help("Enroll inputs by outcome: accepted, or the quality "
                                "gate's rule that rejected it.")
                          .Register(*registry)),
        access_refusals_family(prometheus::BuildCounter()
                                   .Name("faceserve_access_refusals_total")
                                   .Help("Calls refused for their API key, by reason "
                                         "(API_KEY_MISSING, API_KEY_INVALID, "
                                         "SCOPE_NOT_GRANTED, GALLERY_NOT_GRANTED); never by key.")
                                   .Register(*registry)),
        http_requests_family(prometheus::BuildCounter()
                                 .Name("faceserve_http_requests_total")
                                 .Help("HTTP API requests by route and HTTP status (the RPCs "
                                       "they carry are in faceserve_requests_total too).")
                                 .Register(*registry)),
        http_duration_family(prometheus::BuildHistogram()
                                 .Name("faceserve_http_request_duration_seconds")
                                 .Help("HTTP API request latency by route, from the body "
                                       "read to the answer written.")
                                 .Register(*registry)),
        streams_active_family(prometheus::BuildGauge()
                                  .Name("faceserve_streams_active")
                                  .Help("AnalyzeStream streams open.")
                                  .Register(*registry)),
        stream_frames_family(prometheus::BuildCounter()
                                 .Name("faceserve_stream_frames_total")
                                 .Help("Video stream frames: received, processed (answered), "
                                       "dropped (skipped by OVERFLOW_DROP_OLDEST).")
                                 .Register(*registry)),
        stream_tracks_family(prometheus::BuildGauge()
                                 .Name("faceserve_stream_tracks")
                                 .Help("Live face tracks (followed or lost) of every open "
                                       "stream.")
                                 .Register(*registry)),
        stream_latency_family(prometheus::BuildHistogram()
                                  .Name("faceserve_stream_frame_latency_seconds")
                                  .Help("A stream frame's latency, from its arrival to its "
                                        "answer being queued for the client.")
                                  .Register(*registry)),
        store_in_step_family(prometheus::BuildGauge()
                                 .Name("faceserve_gallery_store_in_step")
                                 .Help("1 while the last read of the shared gallery store's "
                                       "change log succeeded; 0: searches answer from memory, "
                                       "which may be stale.")
                                 .Register(*registry)),
        store_last_read_family(prometheus::BuildGauge()
                                   .Name("faceserve_gallery_store_last_read_timestamp_seconds")
                                   .Help("When the shared gallery store's change log was last "
                                         "read (Unix time; staleness: time() minus this).")
                                   .Register(*registry)),
        store_change_family(prometheus::BuildGauge()
                                .Name("faceserve_gallery_store_change")
                                .Help("The last change of the shared gallery store applied "
                                      "in this replica's memory.")
                                .Register(*registry)),
        stage_duration(&stage_duration_family, {"stage", "model"},
                       HistogramFactory(LatencyBuckets())),
        queue_wait(&queue_wait_family, {"model"}, HistogramFactory(LatencyBuckets())),
        batch_execution(&batch_execution_family, {"model"}, HistogramFactory(LatencyBuckets())),
        batch_size(&batch_size_family, {"model"},
                   HistogramFactory({1, 2, 4, 8, 16, 32, 64})),
        request_duration(&request_duration_family, {"rpc"}, HistogramFactory(LatencyBuckets())),
        requests(&requests_family, {"rpc", "code"}, PlainFactory<prometheus::Counter>()),
        dropped(&dropped_family, {"model", "reason"}, PlainFactory<prometheus::Counter>()),
        queue_depth(&queue_depth_family, {"model"}, PlainFactory<prometheus::Gauge>()),
        enroll(&enroll_family, {"outcome"}, PlainFactory<prometheus::Counter>()),
        access_refusals(&access_refusals_family, {"reason"}, PlainFactory<prometheus::Counter>()),
        http_requests(&http_requests_family, {"route", "status"},
                      PlainFactory<prometheus::Counter>()),
        http_duration(&http_duration_family, {"route"}, HistogramFactory(LatencyBuckets())),
        gallery_search(gallery_search_family.Add({}, LatencyBuckets())),
        gallery_queries(gallery_queries_family.Add(
            {}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256})),
        faces_per_image(faces_per_image_family.Add({}, prometheus::Histogram::BucketBoundaries{
                                                           0, 1, 2, 4, 8, 16, 32, 64})),
        in_flight(in_flight_family.Add({})),
        streams_active(streams_active_family.Add({})),
        stream_frames_received(stream_frames_family.Add({{"outcome", "received"}})),
        stream_frames_processed(stream_frames_family.Add({{"outcome", "processed"}})),
        stream_frames_dropped(stream_frames_family.Add({{"outcome", "dropped"}})),
        stream_tracks(stream_tracks_family.Add({})),
        stream_latency(stream_latency_family.Add({}, LatencyBuckets())),
        preheat(preheat_family.Add({})) {
    // Every refusal's series from the start, so that a rate over them exists
    // before the first refusal.
    for (const char* reason :
         {"API_KEY_MISSING", "API_KEY_INVALID", "SCOPE_NOT_GRANTED", "GALLERY_NOT_GRANTED"}) {
      access_refusals.Get({reason});
    }
  }

  // Constant after construction.
  std::shared_ptr<prometheus::Registry> registry;
  prometheus::Family<prometheus::Histogram>& stage_duration_family;
  prometheus::Family<prometheus::Histogram>& queue_wait_family;
  prometheus::Family<prometheus::Histogram>& batch_execution_family;
  prometheus::Family<prometheus::Histogram>& batch_size_family;
  prometheus::Family<prometheus::Histogram>& faces_per_image_family;
  prometheus::Family<prometheus::Histogram>& request_duration_family;
  prometheus::Family<prometheus::Counter>& requests_family;
  prometheus::Family<prometheus::Counter>& dropped_family;
  prometheus::Family<prometheus::Gauge>& in_flight_family;
  prometheus::Family<prometheus::Gauge>& queue_depth_family;
  prometheus::Family<prometheus::Gauge>& preheat_family;
  prometheus::Family<prometheus::Gauge>& model_info_family;
  prometheus::Family<prometheus::Gauge>& build_info_family;
  prometheus::Family<prometheus::Gauge>& gallery_faces_family;
  prometheus::Family<prometheus::Histogram>& gallery_search_family;
  prometheus::Family<prometheus::Histogram>& gallery_queries_family;
  prometheus::Family<prometheus::Counter>& enroll_family;
  prometheus::Family<prometheus::Counter>& access_refusals_family;
  prometheus::Family<prometheus::Counter>& http_requests_family;
  prometheus::Family<prometheus::Histogram>& http_duration_family;
  prometheus::Family<prometheus::Gauge>& streams_active_family;
  prometheus::Family<prometheus::Counter>& stream_frames_family;
  prometheus::Family<prometheus::Gauge>& stream_tracks_family;
  prometheus::Family<prometheus::Histogram>& stream_latency_family;
  prometheus::Family<prometheus::Gauge>& store_in_step_family;
  prometheus::Family<prometheus::Gauge>& store_last_read_family;
  prometheus::Family<prometheus::Gauge>& store_change_family;

  // Internally synchronised.
  LabelCache<prometheus::Histogram> stage_duration;
  LabelCache<prometheus::Histogram> queue_wait;
  LabelCache<prometheus::Histogram> batch_execution;
  LabelCache<prometheus::Histogram> batch_size;
  LabelCache<prometheus::Histogram> request_duration;
  LabelCache<prometheus::Counter> requests;
  LabelCache<prometheus::Counter> dropped;
  LabelCache<prometheus::Gauge> queue_depth;
  LabelCache<prometheus::Counter> enroll;
  LabelCache<prometheus::Counter> access_refusals;
  LabelCache<prometheus::Counter> http_requests;
  LabelCache<prometheus::Histogram> http_duration;
  prometheus::Histogram& gallery_search;
  prometheus::Histogram& gallery_queries;
  absl::Mutex gallery_mu;
  std::map<std::string, prometheus::Gauge*> gallery_faces ABSL_GUARDED_BY(gallery_mu);
  // Created by the first OnGalleryStoreRead (a shared store only).
  prometheus::Gauge* store_in_step ABSL_GUARDED_BY(gallery_mu) = nullptr;
  prometheus::Gauge* store_last_read ABSL_GUARDED_BY(gallery_mu) = nullptr;
  prometheus::Gauge* store_change ABSL_GUARDED_BY(gallery_mu) = nullptr;
  prometheus::Histogram& faces_per_image;
  prometheus::Gauge& in_flight;
  prometheus::Gauge& streams_active;
  prometheus::Counter& stream_frames_received;
  prometheus::Counter& stream_frames_processed;
  prometheus::Counter& stream_frames_dropped;
  prometheus::Gauge& stream_tracks;
  prometheus::Histogram& stream_latency;
  prometheus::Gauge& preheat;
};

Metrics::Metrics(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Metrics::~Metrics() = default;

std::unique_ptr<Metrics> Metrics::Create() {
  return std::unique_ptr<Metrics>(new Metrics(std::make_unique<Impl>()));
}

const char* Metrics::DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kDeadline:
      return "deadline";
    case DropReason::kCancelled:
      return "cancelled";
    case DropReason::kQueueFull:
      return "queue_full";
    case DropReason::kShutdown:
      return "shutdown";
  }
  return "unknown";
}

void Metrics::OnBatch(const std::string& model, int batch_size,
                      const std::vector<absl::Duration>& queue_waits,
                      absl::Duration execution) {
  impl_->batch_size.Get({model}).Observe(batch_size);
  impl_->batch_execution.Get({model}).Observe(absl::ToDoubleSeconds(execution));
  prometheus::Histogram& wait = impl_->queue_wait.Get({model});
  for (absl::Duration d : queue_waits) wait.Observe(absl::ToDoubleSeconds(d));
}

void Metrics::OnDrop(const std::string& model, DropReason reason) {
  impl_->dropped.Get({model, DropReasonName(reason)}).Increment();
}

void Metrics::OnQueueDepth(const std::string& model, int depth) {
  impl_->queue_depth.Get({model}).Set(depth);
}

void Metrics::OnStage(const std::string& stage, const std::string& model,
                      absl::Duration duration) {
  impl_->stage_duration.Get({stage, model}).Observe(absl::ToDoubleSeconds(duration));
}

void Metrics::OnFacesPerImage(int faces) { impl_->faces_per_image.Observe(faces); }

void Metrics::OnRequest(absl::string_view rpc, absl::StatusCode code, absl::Duration latency) {
  const std::string method(rpc);
  impl_->requests.Get({method, absl::StatusCodeToString(code)}).Increment();
  impl_->request_duration.Get({method}).Observe(absl::ToDoubleSeconds(latency));
}

void Metrics::AddRequestsInFlight(int delta) { impl_->in_flight.Increment(delta); }

void Metrics::OnGallerySearchPass(int queries, absl::Duration elapsed) {
  impl_->gallery_search.Observe(absl::ToDoubleSeconds(elapsed));
  impl_->gallery_queries.Observe(queries);
}

void Metrics::OnEnrollInput(const std::string& outcome) {
  impl_->enroll.Get({outcome}).Increment();
}

void Metrics::OnHttpRequest(const std::string& route, int status, absl::Duration latency) {
  impl_->http_requests.Get({route, std::to_string(status)}).Increment();
  impl_->http_duration.Get({route}).Observe(absl::ToDoubleSeconds(latency));
}

void Metrics::AddActiveStreams(int delta) { impl_->streams_active.Increment(delta); }

void Metrics::OnStreamFrames(const char* outcome, int frames) {
  const std::string_view o(outcome);
  prometheus::Counter& c = o == "received"    ? impl_->stream_frames_received
                           : o == "processed" ? impl_->stream_frames_processed
                                              : impl_->stream_frames_dropped;
  c.Increment(frames);
}

void Metrics::AddStreamTracks(int delta) { impl_->stream_tracks.Increment(delta); }

void Metrics::OnStreamFrameLatency(absl::Duration latency) {
  impl_->stream_latency.Observe(absl::ToDoubleSeconds(latency));
}

void Metrics::OnAccessRefused(const std::string& reason) {
  impl_->access_refusals.Get({reason}).Increment();
}

void Metrics::SetGalleryFaces(const std::string& gallery, int64_t faces) {
  absl::MutexLock lock(&impl_->gallery_mu);
  prometheus::Gauge*& gauge = impl_->gallery_faces[gallery];
  if (gauge == nullptr) gauge = &impl_->gallery_faces_family.Add({{"gallery", gallery}});
  gauge->Set(static_cast<double>(faces));
}

void Metrics::RemoveGallery(const std::string& gallery) {
  absl::MutexLock lock(&impl_->gallery_mu);
  auto it = impl_->gallery_faces.find(gallery);
  if (it == impl_->gallery_faces.end()) return;
  impl_->gallery_faces_family.Remove(it->second);
  impl_->gallery_faces.erase(it);
}

void Metrics::OnGalleryStoreRead(bool in_step, absl::Time last_read, int64_t change) {
  absl::MutexLock lock(&impl_->gallery_mu);
  if (impl_->store_in_step == nullptr) {
    impl_->store_in_step = &impl_->store_in_step_family.Add({});
    impl_->store_last_read = &impl_->store_last_read_family.Add({});
    impl_->store_change = &impl_->store_change_family.Add({});
  }
  impl_->store_in_step->Set(in_step ? 1 : 0);
  impl_->store_last_read->Set(absl::ToDoubleSeconds(last_read - absl::UnixEpoch()));
  impl_->store_change->Set(static_cast<double>(change));
}

void Metrics::SyncGalleryFaces(const std::map<std::string, int64_t>& faces) {
  absl::MutexLock lock(&impl_->gallery_mu);
  for (auto it = impl_->gallery_faces.begin(); it != impl_->gallery_faces.end();) {
    if (faces.count(it->first) != 0) {
      ++it;
      continue;
    }
    impl_->gallery_faces_family.Remove(it->second);
    it = impl_->gallery_faces.erase(it);
  }
  for (const auto& [gallery, n] : faces) {
    prometheus::Gauge*& gauge = impl_->gallery_faces[gallery];
    if (gauge == nullptr) gauge = &impl_->gallery_faces_family.Add({{"gallery", gallery}});
    gauge->Set(static_cast<double>(n));
  }
}

void Metrics::SetPreheatDuration(absl::Duration duration) {
  impl_->preheat.Set(absl::ToDoubleSeconds(duration));
}

void Metrics::SetModelInfo(const std::vector<ModelInfo>& models) {
  for (const ModelInfo& m : models) {
    // Every model's drop counters and queue depth exist from the start (at
    // 0), so rate() and alerts see a series before the first drop.
    for (DropReason r : {DropReason::kDeadline, DropReason::kCancelled, DropReason::kQueueFull,
                         DropReason::kShutdown}) {
      impl_->dropped.Get({m.name, DropReasonName(r)});
    }
    impl_->queue_depth.Get({m.name});
    impl_->model_info_family
        .Add({{"model", m.name},
              {"version", m.version},
              {"device", m.device},
              {"dtype", m.dtype},
              {"role", m.role}})
        .Set(1);
  }
}

void Metrics::SetBuildInfo(const std::string& version, const std::string& torch_version,
                           const std::string& grpc_version) {
  impl_->build_info_family
      .Add({{"version", version}, {"torch_version", torch_version}, {"grpc_version", grpc_version}})
      .Set(1);
}

std::string Metrics::Scrape() const {
  return prometheus::TextSerializer().Serialize(impl_->registry->Collect());
}

}  // namespace faceserve
