// Runs the face-size sweep (client/face_size_sweep.h) against a server:
// finds each portrait's reference face, sends every made image as a JPEG
// through Analyze, judges each answer, and prints the table. Used by
// facectl eval-face-sizes and tests/integration/face_size_sweep_test.cc.
#ifndef FACESERVE_CLIENT_FACE_SIZE_SWEEP_RUNNER_H_
#define FACESERVE_CLIENT_FACE_SIZE_SWEEP_RUNNER_H_

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"
#include "client/face_size_sweep.h"
#include "client/json_output.h"
#include "client/rpc_support.h"
#include "faceserve/v1/face_service.grpc.pb.h"

namespace faceserve::client {

struct SweepPortrait {
  std::string name;
  cv::Mat rgb;
};

struct SweepOptions {
  // Predictors to run with detection; empty: detect_only. A configuration
  // whose detector gives no five landmarks needs a landmark predictor here
  // (e.g. "landmarks"), since the landmarks are judged.
  std::vector<std::string> predictors;
  float min_score = 0;  // 0: the server's
  int concurrency = 4;  // images made and in flight at once
  // Where each portrait's reference face is measured: the face this share of
  // the longer side, at each of these longer sides, landscape and portrait;
  // the reference is the mean of those measurements (one measurement's
  // landmarks scatter by up to ~5 % of the face's width: README "Models").
  float reference_share = 0.15f;
  std::vector<int> reference_long_sides = StandardLongSides();
  int jpeg_quality = 95;
};

// A reported face other than the expected one.
struct SweepOtherFace {
  float score = 0;
  bool truncated = false;
};

struct SweepRow {
  std::string portrait;
  SweepStep step;
  int width = 0, height = 0;
  SweepJudgement judgement;
  std::vector<SweepOtherFace> others;
};

// The portrait's face as this server reports it at the reference share,
// mapped back into the portrait and averaged over the reference images: its
// largest face is located in the portrait itself first, then measured again
// at the reference size.
// NOT_FOUND when either pass finds no face, FAILED_PRECONDITION when the
// server reports no five landmarks.
absl::StatusOr<FaceGeometry> FindReferenceFace(v1::FaceService::Stub& stub,
                                               const ConnectionOptions& connection,
                                               const SweepPortrait& portrait,
                                               const cv::Mat& background,
                                               const SweepOptions& options);

// Every step for every portrait (portrait i over background i mod n), in
// that order; the first failed call ends the run with its status.
absl::StatusOr<std::vector<SweepRow>> RunFaceSizeSweep(
    v1::FaceService::Stub& stub, const ConnectionOptions& connection,
    const std::vector<SweepPortrait>& portraits, const std::vector<cv::Mat>& backgrounds,
    const std::vector<SweepStep>& steps, const SweepOptions& options);

// Face share x long side: each cell "found/images", then "nM", "nL" and
// "nE" for moved, lost and extra where not zero (landscape and portrait
// together), and a line of totals.
std::string SweepTable(const std::vector<SweepRow>& rows);

// Every row as a JSON array (portrait, share, long_side, orientation, size,
// outcome, faces, iou, landmark_error, the other faces' scores).
Json SweepRowsToJson(const std::vector<SweepRow>& rows);

}  // namespace faceserve::client

#endif  // FACESERVE_CLIENT_FACE_SIZE_SWEEP_RUNNER_H_
