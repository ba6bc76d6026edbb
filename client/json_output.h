// Proto -> JSON for facectl's output (nlohmann::ordered_json: keys keep the
// order documented below). Floats are written with their shortest round-trip
// decimal form (0.97f prints as 0.97, not 0.9700000286102295).
//
// Analyze, one object per image:
//   {"image": path, "width": W, "height": H,
//    "faces": [{"box": [x1, y1, x2, y2], "score": s, "truncated": bool,
//               "landmarks": [[x, y] x5], "landmarks_68": [...] (when present),
//               "predictions": {"<predictor>": {...}},
//               "crop": path (when written)}],
//    "timings": {"<stage>": seconds, ...},
//    "annotated": path (when written)}
// A predictor's object holds, for a single-head predictor, the head's fields
// directly; for several heads, one key per head name. Then "model" and
// "model_version" (when set). Heads:
//   classification {"label": l, "score": s, "scores": {"<label>": s, ...}}
//   regression     {"<name>": value, ...}            e.g. {"age_years": 31.2}
//   multi-label    {"active": [...], "scores": {...}, "threshold": t}
//   embedding      {"embedding": [...]}              only with include_embeddings
//   landmarks      {"points": [[x, y], ...]}
//
// Functions are pure and thread-safe.
#ifndef FACESERVE_CLIENT_JSON_OUTPUT_H_
#define FACESERVE_CLIENT_JSON_OUTPUT_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "faceserve/v1/face_service.pb.h"
#include "faceserve/v1/gallery_service.pb.h"

namespace faceserve::client {

using Json = nlohmann::ordered_json;

// One line of output: compact JSON; invalid UTF-8 (e.g. in a file name) is
// replaced by U+FFFD instead of throwing.
std::string ToJsonLine(const Json& json);

// A float as the double with the same shortest decimal representation.
double CleanFloat(float value);

Json BoxToJson(const faceserve::v1::Box& box);                  // [x1, y1, x2, y2]
Json PointsToJson(const google::protobuf::RepeatedPtrField<faceserve::v1::Point>& points);
Json TimingsToJson(const google::protobuf::RepeatedPtrField<faceserve::v1::StageTiming>& timings);
Json PredictorOutputToJson(const faceserve::v1::PredictorOutput& output, bool include_embeddings);
Json PredictionToJson(const faceserve::v1::Prediction& prediction, bool include_embeddings);

// One face as Analyze prints it: {"box", "score", "truncated", "landmarks",
// "landmarks_68"?, "head_pose"?, "mesh_head_pose"?, "predictions", identity?}
Json FaceToJson(const faceserve::v1::Face& face, bool include_embeddings);

struct AnalyzeJsonOptions {
  bool include_embeddings = false;
  std::vector<std::string> crop_paths;  // per face; empty string or missing: no "crop"
  std::string annotated_path;           // empty: no "annotated"
};
Json AnalyzeResponseToJson(const std::string& image_path,
                           const faceserve::v1::AnalyzeResponse& response,
                           const AnalyzeJsonOptions& options = {});

// Adds "matches" ([{"subject", "face_id", "similarity"}], best first),
// "identified" and "threshold" to a face's object.
void IdentityIntoJson(const faceserve::v1::Identity& identity, Json* face);
// {"image", "gallery", "faces": [{"box", "score", "truncated", "matches",
// "identified", "threshold"}], "timings"}
Json IdentifyResponseToJson(const std::string& image_path,
                            const faceserve::v1::IdentifyResponse& response);

// {"image": path, "faces": [{"box", "score", "truncated", "embedding"}], "model", "model_version", "timings"}
Json EmbedResponseToJson(const std::string& image_path, const faceserve::v1::EmbedResponse& response);

// AnalyzeStream, one object per processed frame:
//   {"frame": sequence, "time_s": t, "detected": bool, "width", "height"
//    (detected frames), "faces": [{"track_id": id, ...FaceToJson...,
//    "track_identity" (once decided), "smoothed": {predictor: ...}}],
//    "events": [{"track_id": id, "event": "started"|"lost"|"relinked"|
//    "ended"|"identified", "identity" (identified), "summary" (ended)}],
//    "skipped": [sequence, ...] (when frames were dropped)}
// A face on a frame between detections has "track_id", "box",
// "predicted": true and the track's "track_identity" and "smoothed". The
// server's last answer has "end_of_stream": true and no faces.
Json StreamResponseToJson(const faceserve::v1::StreamResponse& response, bool include_embeddings);
// {"subject", "similarity", "votes", "window", "threshold"}
Json TrackIdentityToJson(const faceserve::v1::TrackIdentity& identity);
// {"detected_frames", "best_shot": {"frame", "time_s", "box", "quality",
// "crop_bytes"}, "smoothed", "identity"}
Json TrackSummaryToJson(const faceserve::v1::TrackSummary& summary);
// "started", "lost", "relinked", "ended", "identified".
const char* TrackEventName(faceserve::v1::TrackEventKind kind);

// {"similarity", "match", "threshold", "model", "model_version", "box_a"?, "box_b"?, "timings"}
Json VerifyResponseToJson(const faceserve::v1::VerifyResponse& response);

}  // namespace faceserve::client

#endif  // FACESERVE_CLIENT_JSON_OUTPUT_H_
