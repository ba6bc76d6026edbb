#include "server/stream_convert.h"

#include "server/proto_convert.h"

namespace faceserve {

v1::TrackEventKind TrackEventKindToProto(TrackEventKind kind) {
  switch (kind) {
    case TrackEventKind::kStarted: return v1::TRACK_STARTED;
    case TrackEventKind::kLost: return v1::TRACK_LOST;
    case TrackEventKind::kRelinked: return v1::TRACK_RELINKED;
    case TrackEventKind::kEnded: return v1::TRACK_ENDED;
  }
  return v1::TRACK_EVENT_UNSPECIFIED;
}

void TrackIdentityToProto(const TrackIdentity& identity, v1::TrackIdentity* out) {
  out->set_subject(identity.subject);
  out->set_similarity(identity.similarity);
  out->set_votes(identity.votes);
  out->set_window(identity.window);
  out->set_threshold(identity.threshold);
}

void TrackSummaryToProto(const TrackSummary& summary, v1::TrackSummary* out) {
  out->set_detected_frames(summary.detected_frames);
  if (summary.best_shot.has_value()) {
    const BestShot& shot = *summary.best_shot;
    v1::BestShot* b = out->mutable_best_shot();
    b->set_sequence(shot.sequence);
    b->set_timestamp_us(shot.timestamp_us);
    BoxToProto(shot.box, b->mutable_box());
    b->set_quality(shot.quality);
    b->set_crop_jpeg(shot.crop_jpeg);
  }
  for (const Prediction& p : summary.smoothed) {
    PredictionToProto(p, /*return_embeddings=*/false, out->add_smoothed_predictions());
  }
  if (summary.identity.has_value()) TrackIdentityToProto(*summary.identity, out->mutable_identity());
}

void TrackStateToProto(const TrackSummary& summary, v1::TrackedFace* out) {
  if (summary.identity.has_value()) TrackIdentityToProto(*summary.identity, out->mutable_identity());
  for (const Prediction& p : summary.smoothed) {
    PredictionToProto(p, /*return_embeddings=*/false, out->add_smoothed_predictions());
  }
}

IdentityVote VoteOf(const Identity& identity) {
  IdentityVote vote;
  vote.identified = identity.identified;
  vote.threshold = identity.threshold;
  if (!identity.matches.empty()) {
    vote.subject = identity.matches[0].subject;
    vote.similarity = identity.matches[0].similarity;
  }
  return vote;
}

}  // namespace faceserve
