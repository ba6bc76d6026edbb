// Fuzz target: a request's path before any model, for every RPC: protobuf
// parsing, server/proto_convert's validation and conversion, and the reader
// on each image the request carries.
#include <cmath>
#include <string>

#include "core/reader/image_reader.h"
#include "faceserve/v1/face_service.pb.h"
#include "proto/rpc_status.h"
#include "server/proto_convert.h"
#include "tests/fuzz/fuzz_targets.h"

namespace faceserve {
namespace fuzz {
namespace {

constexpr ReaderLimits kLimits{1 << 20, 1 << 20};

#define FUZZ_CHECK(cond)                      \
  do {                                        \
    if (!(cond)) FuzzCheckFailed(#cond);      \
  } while (0)

// A rejected request: INVALID_ARGUMENT with a message that fits in a status.
void CheckRejected(const absl::Status& status) {
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  FUZZ_CHECK(!status.message().empty());
  FUZZ_CHECK(ToGrpcStatus(status).error_message().size() <= kMaxStatusMessageBytes);
}

void Read(const ImageInput& image) {
  absl::StatusOr<cv::Mat> m = ReadImage(image, kLimits);
  if (m.ok()) {
    FUZZ_CHECK(m->type() == CV_8UC3 && m->cols > 0 && m->rows > 0);
  } else {
    FUZZ_CHECK(m.status().code() == absl::StatusCode::kInvalidArgument ||
               m.status().code() == absl::StatusCode::kResourceExhausted);
  }
}

void CheckVerifyInput(const VerifyInput& in) {
  if (in.is_embedding) {
    bool nonzero = in.embedding.empty();
    for (float v : in.embedding) {
      FUZZ_CHECK(std::isfinite(v));
      nonzero = nonzero || v != 0.0f;
    }
    FUZZ_CHECK(nonzero);
  } else {
    FUZZ_CHECK(in.selection != FaceSelection::kAll);
    Read(in.image);
  }
}

}  // namespace

int FuzzRequest(const uint8_t* data, size_t size) {
  const int n = static_cast<int>(size);

  v1::AnalyzeRequest analyze;
  if (analyze.ParseFromArray(data, n)) {
    absl::StatusOr<AnalyzeCall> call = AnalyzeCallFromProto(analyze);
    if (call.ok()) {
      const AnalyzeOptions& o = call->options;
      FUZZ_CHECK(o.min_detection_score >= 0.0f && o.min_detection_score <= 1.0f);
      FUZZ_CHECK(o.max_faces >= 0);
      FUZZ_CHECK(static_cast<int>(o.predictors.size()) <= kMaxRequestedPredictors);
      Read(call->image);
    } else {
      CheckRejected(call.status());
    }
  }

  v1::EmbedRequest embed;
  if (embed.ParseFromArray(data, n)) {
    absl::StatusOr<EmbedCall> call = EmbedCallFromProto(embed);
    if (call.ok()) {
      Read(call->image);
    } else {
      CheckRejected(call.status());
    }
  }

  v1::VerifyRequest verify;
  if (verify.ParseFromArray(data, n)) {
    absl::StatusOr<VerifyCall> call = VerifyCallFromProto(verify);
    if (call.ok()) {
      FUZZ_CHECK(std::isfinite(call->options.threshold) && call->options.threshold >= -1.0f &&
                 call->options.threshold <= 1.0f);
      CheckVerifyInput(call->a);
      CheckVerifyInput(call->b);
    } else {
      CheckRejected(call.status());
    }
  }
  return 0;
}

}  // namespace fuzz
}  // namespace faceserve
