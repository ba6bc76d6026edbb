// AnalyzeStream's frames (server/analyze_stream.h): one frame through the
// pipeline (and the gallery when the stream identifies), then through the
// stream's FaceTracker and TrackSummaries into its response. The reactor's
// life (reads, writes, the end) is in analyze_stream.cc.
#include <algorithm>
#include <optional>
#include <utility>

#include "server/analyze_stream.h"
#include "server/gallery_convert.h"
#include "server/proto_convert.h"
#include "server/stream_convert.h"

namespace faceserve {

void AnalyzeStream::Process(Frame frame) {
  const absl::Duration time = absl::Microseconds(frame.message.timestamp_us());
  const absl::Time received = frame.received;
  v1::StreamResponse response;
  response.set_sequence(frame.message.sequence());
  response.set_timestamp_us(frame.message.timestamp_us());
  if (!frame.detect) {
    absl::Status s;
    {
      absl::MutexLock lock(&mu_);
      absl::StatusOr<TrackerFrame> tracked = tracker_->Predict(time);
      if (tracked.ok()) {
        for (const TrackedFace& f : tracked->faces) {
          v1::TrackedFace* out = response.add_faces();
          out->set_track_id(f.track_id);
          BoxToProto(f.box, out->mutable_face()->mutable_box());
          if (const TrackSummary* summary = summaries_->Find(f.track_id)) TrackStateToProto(*summary, out);
        }
        AddEvents(tracked->events, &response);
      }
      s = tracked.status();
    }
    if (!s.ok()) return Done(s);
    return Done(std::move(response), received);
  }
  v1::AnalyzeRequest request;
  std::string descriptor_predictor;
  bool best_shots;
  {
    absl::MutexLock lock(&mu_);
    *request.mutable_options() = options_;
    descriptor_predictor = descriptor_predictor_;
    best_shots = best_shots_;
  }
  const bool return_embeddings = request.options().return_embeddings();
  *request.mutable_image() = std::move(*frame.message.mutable_image());
  absl::StatusOr<AnalyzeCall> call = AnalyzeCallFromProto(request);
  if (!call.ok()) return Done(call.status());
  // The tracker's descriptors: the embedding predictor runs and keeps its
  // values whatever the client asked; they leave the answer as it asked.
  std::vector<std::string>& predictors = call->options.predictors;
  const bool strip_descriptor =
      !descriptor_predictor.empty() && !predictors.empty() &&
      std::find(predictors.begin(), predictors.end(), descriptor_predictor) == predictors.end();
  if (strip_descriptor) predictors.push_back(descriptor_predictor);
  // Then it runs only where the tracker will use it (a track's start, every
  // few detections, a face that may be somebody lost); identification needs
  // it on every face.
  if (strip_descriptor && !call->identify.has_value()) {
    call->options.only_some_faces = {
        descriptor_predictor, [this, time](const std::vector<Face>& faces) {
          const std::vector<TrackerDetection> detections = TrackerDetectionsOf(faces);
          absl::MutexLock lock(&mu_);
          return tracker_->DescriptorsWanted(time, detections);
        }};
  }
  call->options.return_embeddings = true;
  call->options.compute_sharpness = true;  // the best shot's quality
  call->options.return_face_crops = best_shots;
  CallContext context;
  const auto deadline = context_->deadline();
  if (deadline != std::chrono::system_clock::time_point::max()) {
    context.deadline = absl::FromChrono(deadline);
  }
  context.is_cancelled = [flag = cancel_flag_] { return flag->load(); };
  auto track = [this, time, received, return_embeddings, strip_descriptor, descriptor_predictor,
                response = std::move(response)](AnalyzeResult result,
                                                 std::vector<Identity> identities) mutable {
    absl::Status s = Track(time, std::move(result), std::move(identities), return_embeddings,
                           descriptor_predictor, strip_descriptor, &response);
    if (!s.ok()) return Done(s);
    Done(std::move(response), received);
  };
  if (call->identify.has_value() && identifier_ != nullptr) {
    identifier_->AnalyzeAndIdentify(
        std::move(call->image), std::move(call->options), *std::move(call->identify),
        std::move(context),
        [this, track = std::move(track)](absl::StatusOr<IdentifiedAnalysis> result) mutable {
          if (!result.ok()) return Done(result.status());
          track(std::move(result->analysis), std::move(result->identities));
        });
    return;
  }
  pipeline_->Analyze(std::move(call->image), std::move(call->options), std::move(context),
                     [this, track = std::move(track)](absl::StatusOr<AnalyzeResult> result) mutable {
                       if (!result.ok()) return Done(result.status());
                       track(*std::move(result), {});
                     });
}

absl::Status AnalyzeStream::Track(absl::Duration time, AnalyzeResult result,
                                  std::vector<Identity> identities, bool return_embeddings,
                                  const std::string& descriptor_predictor, bool strip_descriptor,
                                  v1::StreamResponse* response) {
  const std::vector<TrackerDetection> detections = TrackerDetectionsOf(result.faces);
  absl::MutexLock lock(&mu_);
  absl::StatusOr<TrackerFrame> tracked = tracker_->Update(time, detections);
  if (!tracked.ok()) return tracked.status();
  // What each followed face adds to its track's summary.
  std::vector<v1::TrackEvent> identified;
  for (const TrackedFace& f : tracked->faces) {
    if (f.detection < 0 || f.detection >= static_cast<int>(result.faces.size())) continue;
    std::optional<IdentityVote> vote;
    if (f.detection < static_cast<int>(identities.size())) vote = VoteOf(identities[f.detection]);
    std::optional<TrackIdentity> decided =
        summaries_->Observe(f.track_id, time, response->sequence(), response->timestamp_us(),
                            result.faces[f.detection], vote.has_value() ? &*vote : nullptr);
    if (decided.has_value()) {
      v1::TrackEvent& e = identified.emplace_back();
      e.set_track_id(f.track_id);
      e.set_kind(v1::TRACK_IDENTIFIED);
      TrackIdentityToProto(*decided, e.mutable_identity());
    }
  }
  // The answer as the client asked: no crops (the best shot keeps its own),
  // no descriptor it did not name.
  for (Face& face : result.faces) {
    face.crop_jpeg.clear();
    if (strip_descriptor) {
      auto& p = face.predictions;
      p.erase(std::remove_if(p.begin(), p.end(),
                             [&](const Prediction& x) { return x.predictor == descriptor_predictor; }),
              p.end());
    }
  }
  v1::AnalyzeResponse analyzed;
  AnalyzeResultToProto(result, return_embeddings, &analyzed);
  response->set_detected(true);
  response->set_image_width_px(analyzed.image_width_px());
  response->set_image_height_px(analyzed.image_height_px());
  for (const TrackedFace& f : tracked->faces) {
    v1::TrackedFace* out = response->add_faces();
    out->set_track_id(f.track_id);
    if (f.detection >= 0 && f.detection < analyzed.faces_size()) {
      *out->mutable_face() = std::move(*analyzed.mutable_faces(f.detection));
      if (f.detection < static_cast<int>(identities.size())) {
        IdentityToProto(identities[f.detection], out->mutable_face()->mutable_identity());
      }
    } else {
      BoxToProto(f.box, out->mutable_face()->mutable_box());
    }
    if (const TrackSummary* summary = summaries_->Find(f.track_id)) TrackStateToProto(*summary, out);
  }
  AddEvents(tracked->events, response);
  for (v1::TrackEvent& e : identified) *response->add_events() = std::move(e);
  return absl::OkStatus();
}

void AnalyzeStream::AddEvents(const std::vector<TrackEvent>& events,
                              v1::StreamResponse* response) {
  for (const TrackEvent& e : events) {
    v1::TrackEvent* m = response->add_events();
    m->set_track_id(e.track_id);
    m->set_kind(TrackEventKindToProto(e.kind));
    if (e.kind == TrackEventKind::kEnded) {
      TrackSummaryToProto(summaries_->Take(e.track_id), m->mutable_summary());
    }
  }
}

v1::StreamResponse AnalyzeStream::EndOfStream() {
  v1::StreamResponse response;
  response.set_end_of_stream(true);
  response.set_sequence(last_sequence_);
  response.set_timestamp_us(last_answered_us_);
  AddEvents(tracker_->EndAll(), &response);
  return response;
}

}  // namespace faceserve
