// AnalyzeStream's answers in proto form: track events, and what is learned
// per track (identity, best shot, smoothed attributes). The stream's other
// fields are Analyze's (proto_convert.h).
#ifndef FACESERVE_SERVER_STREAM_CONVERT_H_
#define FACESERVE_SERVER_STREAM_CONVERT_H_

#include <vector>

#include "core/identification/identifier.h"
#include "core/tracking/face_tracker.h"
#include "core/tracking/track_summary.h"
#include "faceserve/v1/face_service.pb.h"

namespace faceserve {

v1::TrackEventKind TrackEventKindToProto(TrackEventKind kind);
void TrackIdentityToProto(const TrackIdentity& identity, v1::TrackIdentity* out);
void TrackSummaryToProto(const TrackSummary& summary, v1::TrackSummary* out);
// The track's identity and smoothed attributes onto its face of a frame.
void TrackStateToProto(const TrackSummary& summary, v1::TrackedFace* out);
// The gallery's answer for one face on one frame, as a vote.
IdentityVote VoteOf(const Identity& identity);

}  // namespace faceserve

#endif  // FACESERVE_SERVER_STREAM_CONVERT_H_
