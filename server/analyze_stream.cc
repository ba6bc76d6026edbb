#include "server/analyze_stream.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/error_reason.h"
#include "core/invalid_field.h"
#include "proto/rpc_status.h"
#include "server/access_policy.h"
#include "server/metrics.h"
#include "server/gallery_convert.h"
#include "server/proto_convert.h"
#include "server/stream_convert.h"

namespace faceserve {
namespace {

// Responses waiting for the client before frames stop being processed.
constexpr size_t kMaxReplies = 2;

// Limits of StreamConfig (face_service.proto).
constexpr int kMaxDetectEvery = 30;
constexpr int kMaxQueuedFrames = 16;
constexpr int kMaxLostTtlMs = 60000;
constexpr int kMaxSmoothingMs = 60000;

}  // namespace

AnalyzeStream* AnalyzeStream::Start(CallGate* gate, FacePipeline* pipeline,
                                    Identifier* identifier, StreamRegistry* registry,
                                    grpc::CallbackServerContext* context) {
  auto* stream = new AnalyzeStream(gate, pipeline, identifier, registry, context);
  absl::StatusOr<Caller> caller = gate->CheckAccess(*context, NeedOf(v1::AnalyzeRequest()));
  const absl::Status admitted = caller.ok() ? gate->AdmitStream() : caller.status();
  Actions actions;
  {
    absl::MutexLock lock(&stream->mu_);
    stream->admitted_ = admitted.ok();
    stream->slot_held_ = admitted.ok();
    if (!admitted.ok()) stream->FailLocked(admitted);
    stream->Plan(&actions);
  }
  // Registered before its first read can end it, so that OnDone() finds it.
  if (admitted.ok()) {
    if (gate->metrics() != nullptr) gate->metrics()->AddActiveStreams(1);
    registry->Add(stream);
  }
  stream->Run(std::move(actions));
  return stream;
}

AnalyzeStream::AnalyzeStream(CallGate* gate, FacePipeline* pipeline, Identifier* identifier,
                             StreamRegistry* registry, grpc::CallbackServerContext* context)
    : gate_(gate), pipeline_(pipeline), identifier_(identifier), registry_(registry),
      context_(context),
      start_(absl::Now()), cancel_flag_(std::make_shared<std::atomic<bool>>(false)) {}

void AnalyzeStream::Stop(const absl::Status& status) {
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    FailLocked(status);
    Plan(&actions);
  }
  Run(std::move(actions));
}

void AnalyzeStream::StopIfIdle(absl::Time now, absl::Duration idle_timeout) {
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    if (finishing_ || !reading_ || now - read_started_ < idle_timeout) return;
    FailLocked(WithReason(
        absl::DeadlineExceededError(absl::StrCat("no message on the stream for ",
                                                 absl::FormatDuration(idle_timeout),
                                                 " (server.stream_idle_timeout_ms)")),
        ErrorReason::kStreamIdle));
    Plan(&actions);
  }
  Run(std::move(actions));
}

void AnalyzeStream::FailLocked(const absl::Status& status) {
  if (finishing_) return;
  finishing_ = true;
  end_ = status;
  cancel_flag_->store(true);
  queue_.clear();
  // The reply being written stays until OnWriteDone; the others go.
  while (replies_.size() > (writing_ ? 1u : 0u)) replies_.pop_back();
}

absl::Status AnalyzeStream::Configure(const v1::StreamConfig& config) {
  const v1::AnalyzeOptions& o = config.options();
  if (o.return_annotated_image() || o.return_face_crops() || o.detect_only()) {
    return InvalidFieldError("config.options",
                             "return_annotated_image, return_face_crops and detect_only are "
                             "not available in streams");
  }
  if (config.detect_every() < 0 || config.detect_every() > kMaxDetectEvery) {
    return InvalidFieldError("config.detect_every",
                             absl::StrCat("must be in [0, ", kMaxDetectEvery, "]"));
  }
  if (config.max_queued_frames() < 0 || config.max_queued_frames() > kMaxQueuedFrames) {
    return InvalidFieldError("config.max_queued_frames",
                             absl::StrCat("must be in [0, ", kMaxQueuedFrames, "]"));
  }
  if (config.lost_track_ttl_ms() < 0 || config.lost_track_ttl_ms() > kMaxLostTtlMs) {
    return InvalidFieldError("config.lost_track_ttl_ms",
                             absl::StrCat("must be in [0, ", kMaxLostTtlMs, "]"));
  }
  if (config.smoothing_ms() < 0 || config.smoothing_ms() > kMaxSmoothingMs) {
    return InvalidFieldError("config.smoothing_ms",
                             absl::StrCat("must be in [0, ", kMaxSmoothingMs, "]"));
  }
  if (!v1::OverflowPolicy_IsValid(config.overflow())) {
    return InvalidFieldError("config.overflow", "unknown policy");
  }
  // Check the options as Analyze would, on a request with a placeholder image.
  v1::AnalyzeRequest probe;
  *probe.mutable_options() = o;
  probe.mutable_image()->set_encoded("x");
  absl::StatusOr<AnalyzeCall> parsed = AnalyzeCallFromProto(probe);
  if (!parsed.ok()) return parsed.status();
  if (parsed->identify.has_value()) {
    // Refused now rather than on the first detected frame.
    if (identifier_ == nullptr) return GalleriesOff();
    if (absl::Status s = identifier_->CheckIdentify(*parsed->identify); !s.ok()) return s;
  }
  options_ = o;
  best_shots_ = config.return_best_shots();
  TrackSummaryConfig summary;
  if (config.smoothing_ms() > 0) summary.smoothing = absl::Milliseconds(config.smoothing_ms());
  summaries_ = std::make_unique<TrackSummaries>(summary);
  TrackerConfig tracker;
  if (absl::StatusOr<EmbeddingModelInfo> d = pipeline_->embedding_model(""); d.ok()) {
    descriptor_predictor_ = d->predictor;
    // Re-linking says "the same person": as sure as Verify's match.
    if (d->verify_threshold > 0) tracker.relink_similarity = d->verify_threshold;
  }
  detect_every_ = std::max(1, config.detect_every());
  drop_oldest_ = config.overflow() != v1::OVERFLOW_BLOCK;
  max_queued_ = config.max_queued_frames() == 0 ? 2 : config.max_queued_frames();
  if (config.lost_track_ttl_ms() > 0) tracker.lost_ttl = absl::Milliseconds(config.lost_track_ttl_ms());
  tracker_ = std::make_unique<FaceTracker>(tracker);
  configured_ = true;
  return absl::OkStatus();
}

absl::Status AnalyzeStream::Accept(v1::StreamFrame frame) {
  if (have_timestamp_ && frame.timestamp_us() <= last_timestamp_us_) {
    return InvalidFieldError(
        "frame.timestamp_us",
        absl::StrCat("must increase: ", frame.timestamp_us(), " after ", last_timestamp_us_));
  }
  have_timestamp_ = true;
  last_timestamp_us_ = frame.timestamp_us();
  const bool detect = frames_seen_++ % detect_every_ == 0;
  Metrics* metrics = gate_->metrics();
  if (metrics != nullptr) metrics->OnStreamFrames("received", 1);
  if (queue_.size() >= max_queued_) {  // only with DROP_OLDEST: BLOCK reads no further
    skipped_.push_back(queue_.front().message.sequence());
    queue_.pop_front();
    if (metrics != nullptr) metrics->OnStreamFrames("dropped", 1);
  }
  queue_.push_back(Frame{std::move(frame), detect, absl::Now()});
  return absl::OkStatus();
}

void AnalyzeStream::Plan(Actions* actions) {
  ++running_;
  if (finishing_) return;  // Settle() finishes
  if (!processing_ && !queue_.empty() && replies_.size() < kMaxReplies) {
    processing_ = true;
    actions->process = true;
    actions->frame = std::move(queue_.front());
    queue_.pop_front();
  }
  if (read_closed_ && configured_ && !end_sent_ && queue_.empty() && !processing_) {
    end_sent_ = true;
    replies_.push_back(EndOfStream());
  }
  if (!writing_ && !replies_.empty()) {
    writing_ = true;
    actions->write = &replies_.front();
  }
  if (!reading_ && !read_closed_ && (drop_oldest_ || queue_.size() < max_queued_)) {
    reading_ = true;
    read_started_ = absl::Now();
    actions->read = true;
  }
  if (read_closed_ && queue_.empty() && !processing_ && replies_.empty() && !writing_ &&
      (end_sent_ || !configured_)) {
    finishing_ = true;  // Settle() finishes
    end_ = absl::OkStatus();
  }
}

void AnalyzeStream::Run(Actions actions) {
  if (actions.read) StartRead(&read_);
  if (actions.write != nullptr) StartWrite(actions.write);
  if (actions.process) Process(std::move(actions.frame));
  Settle();
}

void AnalyzeStream::Settle() {
  bool finish = false, release_slot = false;
  grpc::Status status;
  {
    absl::MutexLock lock(&mu_);
    --running_;
    // Another thread between its Plan and its Run may still start a read or
    // touch the state: only the last one out finishes. Each re-checks, so
    // the end is never lost.
    if (running_ == 0 && finishing_ && !processing_ && !writing_ && !finish_sent_) {
      finish_sent_ = true;
      finish = true;
      // Give the slot back before Finish(), so that a client that has the
      // status may open the next stream at once.
      release_slot = std::exchange(slot_held_, false);
      status = ToGrpcStatus(end_);
    }
  }
  // Nothing below when this thread does not finish: another may delete this.
  if (release_slot) {
    if (Metrics* metrics = gate_->metrics(); metrics != nullptr) {
      metrics->AddRequestsInFlight(-1);
      metrics->AddActiveStreams(-1);
    }
    gate_->ReleaseStream();
  }
  // Last: OnDone() may follow at once and delete this.
  if (finish) Finish(status);
}

void AnalyzeStream::OnReadDone(bool ok) {
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    reading_ = false;
    if (!ok) {
      read_closed_ = true;
    } else if (!finishing_) {
      absl::Status s;
      if (!configured_) {
        s = read_.has_config()
                ? Configure(read_.config())
                : InvalidFieldError("config", "the first message of a stream must be its config");
      } else if (read_.has_config()) {
        s = InvalidFieldError("config", "only the first message of a stream may be a config");
      } else {
        s = Accept(std::move(*read_.mutable_frame()));
      }
      if (!s.ok()) FailLocked(s);
    }
    Plan(&actions);
  }
  Run(std::move(actions));
}

void AnalyzeStream::OnWriteDone(bool ok) {
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    replies_.pop_front();
    if (!ok) FailLocked(absl::CancelledError("the client went away"));
    Plan(&actions);
  }
  Run(std::move(actions));
}

void AnalyzeStream::OnCancel() {
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    const bool past_deadline = context_->deadline() != std::chrono::system_clock::time_point::max() &&
                               absl::Now() >= absl::FromChrono(context_->deadline());
    FailLocked(past_deadline
                   ? WithReason(absl::DeadlineExceededError("the stream's deadline passed"),
                                ErrorReason::kDeadlineExceeded)
                   : WithReason(absl::CancelledError("the client cancelled the stream"),
                                ErrorReason::kCancelled));
    Plan(&actions);
  }
  Run(std::move(actions));
}

void AnalyzeStream::OnDone() {
  absl::Status end;
  bool admitted;
  int tracks;
  {
    absl::MutexLock lock(&mu_);
    end = end_;
    admitted = admitted_;
    tracks = reported_tracks_;
  }
  Metrics* metrics = gate_->metrics();
  if (metrics != nullptr) metrics->OnRequest("AnalyzeStream", end.code(), absl::Now() - start_);
  if (admitted) {
    registry_->Remove(this);
    if (metrics != nullptr) metrics->AddStreamTracks(-tracks);
  }
  delete this;
}

void AnalyzeStream::Done(absl::StatusOr<v1::StreamResponse> response, absl::Time received) {
  Actions actions;
  Metrics* metrics = gate_->metrics();
  {
    absl::MutexLock lock(&mu_);
    processing_ = false;
    if (metrics != nullptr && tracker_ != nullptr) {
      metrics->AddStreamTracks(tracker_->live_tracks() - reported_tracks_);
      reported_tracks_ = tracker_->live_tracks();
    }
    if (!response.ok()) {
      FailLocked(response.status());
    } else if (!finishing_) {
      for (int64_t s : skipped_) response->add_skipped_sequences(s);
      skipped_.clear();
      last_sequence_ = response->sequence();
      last_answered_us_ = response->timestamp_us();
      replies_.push_back(*std::move(response));
      if (metrics != nullptr) {
        metrics->OnStreamFrames("processed", 1);
        metrics->OnStreamFrameLatency(absl::Now() - received);
      }
    }
    Plan(&actions);
  }
  Run(std::move(actions));
}

}  // namespace faceserve
