// Conversions between the public protobuf API (faceserve.v1) and the core
// types of core/pipeline. Pure functions, thread-safe, no gRPC.
//
// Requests: the *FromProto functions check what only the transport can check
// (a oneof left unset, an enum value the core types cannot represent, a
// number outside its documented domain) and fail with INVALID_ARGUMENT and a
// message naming the field, e.g. "image: not set (set image.encoded or
// image.raw)". Everything that needs the configuration or the image itself
// (unknown predictor names, undecodable bytes, wrong embedding size, raw
// dimensions) is the pipeline's to reject.
//
// Responses: the *ToProto functions append to a cleared message.
#ifndef FACESERVE_SERVER_PROTO_CONVERT_H_
#define FACESERVE_SERVER_PROTO_CONVERT_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/identification/identifier.h"
#include "core/pipeline/face_pipeline.h"
#include "core/types.h"
#include "faceserve/v1/face_service.pb.h"

namespace faceserve {

// ---------------------------------------------------------------------------
// Requests. `field` is the path of the message in the request, used in
// error messages ("image", "a.image").

absl::StatusOr<ImageInput> ImageFromProto(const v1::Image& image, absl::string_view field);
absl::StatusOr<ChannelOrder> ChannelOrderFromProto(int value, absl::string_view field);
// UNSPECIFIED becomes `unspecified_means`.
absl::StatusOr<FaceSelection> FaceSelectionFromProto(int value, FaceSelection unspecified_means,
                                                     absl::string_view field);
// At most this many names in AnalyzeOptions.predictors (duplicates count).
inline constexpr int kMaxRequestedPredictors = 64;
absl::StatusOr<AnalyzeOptions> AnalyzeOptionsFromProto(const v1::AnalyzeOptions& options);

struct AnalyzeCall {
  ImageInput image;
  AnalyzeOptions options;
  std::optional<IdentifyOptions> identify;  // options.identify was set
};
absl::StatusOr<AnalyzeCall> AnalyzeCallFromProto(const v1::AnalyzeRequest& request);

struct EmbedCall {
  ImageInput image;
  EmbedOptions options;
};
absl::StatusOr<EmbedCall> EmbedCallFromProto(const v1::EmbedRequest& request);

// `field` is "a" or "b". UNSPECIFIED selection means LARGEST; ALL is rejected.
absl::StatusOr<VerifyInput> VerifyInputFromProto(const v1::FaceInput& input,
                                                 absl::string_view field);
struct VerifyCall {
  VerifyInput a, b;
  VerifyOptions options;
};
absl::StatusOr<VerifyCall> VerifyCallFromProto(const v1::VerifyRequest& request);

// ---------------------------------------------------------------------------
// Responses.

void BoxToProto(const Box& box, v1::Box* out);
void TimingsToProto(const std::vector<StageTiming>& timings,
                    google::protobuf::RepeatedPtrField<v1::StageTiming>* out);
void HeadResultToProto(const HeadResult& head, v1::PredictorOutput* out);
// Embedding heads are left out unless `return_embeddings`.
void PredictionToProto(const Prediction& prediction, bool return_embeddings, v1::Prediction* out);
void FaceToProto(const Face& face, bool return_embeddings, v1::Face* out);
void AnalyzeResultToProto(const AnalyzeResult& result, bool return_embeddings,
                          v1::AnalyzeResponse* out);
void EmbedResultToProto(const EmbedResult& result, v1::EmbedResponse* out);
void VerifyResultToProto(const VerifyResult& result, v1::VerifyResponse* out);

// The inverse of HeadResultToProto (for clients and round-trip tests). Fails
// with INVALID_ARGUMENT when the oneof is unset.
absl::StatusOr<HeadResult> HeadResultFromProto(const v1::PredictorOutput& output);

}  // namespace faceserve

#endif  // FACESERVE_SERVER_PROTO_CONVERT_H_
