// facectl eval-detect BOXES.csv : detection recall and false positives of the
// server's detector against hand-drawn face boxes.
//
// BOXES.csv has a header and rows image,x1,y1,x2,y2 (pixels). --images LIST.csv
// names every image to run in its first column (after a header); those with
// no row in BOXES.csv are images without a face, whose detections are false
// positives. Each image is analysed with detect_only (no predictor runs), one
// call at a time; matching and counting are client/detection_metrics.h's.
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/analyze_file.h"
#include "client/commands.h"
#include "client/detection_metrics.h"
#include "client/image_files.h"
#include "client/json_output.h"
#include "faceserve/v1/face_service.grpc.pb.h"
#include "proto/rpc_status.h"

namespace faceserve::client {
namespace {

namespace v1 = faceserve::v1;

// Rows after the header, split on commas (a quoted field's commas split too:
// only the leading unquoted columns are used).
std::vector<std::vector<std::string>> CsvRows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  bool header = true;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
    if (header) {
      header = false;
      continue;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    rows.push_back(absl::StrSplit(line, ','));
  }
  return rows;
}

}  // namespace

int RunEvalDetectCommand(const CommandContext& ctx, const ParsedArgs& args) {
  if (args.positional.size() != 1) return ctx.UsageError("eval-detect needs one BOXES.csv");
  auto iou = args.GetDouble("iou", 0.4, 0.01, 1.0);
  if (!iou.ok()) return ctx.UsageError(iou.status().message());
  auto min_score = args.GetDouble("min-score", 0, 0, 1);
  if (!min_score.ok()) return ctx.UsageError(min_score.status().message());
  const std::string boxes_path = args.positional[0];
  const std::string root = args.Has("root")
                               ? args.Get("root")
                               : std::filesystem::path(boxes_path).parent_path().string();

  auto boxes_text = ReadFileBytes(boxes_path);
  if (!boxes_text.ok()) return ctx.Fail(boxes_text.status());
  std::vector<std::string> images;  // in order of first appearance
  std::map<std::string, std::vector<BoxXyxy>> annotated;
  for (const std::vector<std::string>& row : CsvRows(*boxes_text)) {
    BoxXyxy box{};
    bool ok = row.size() >= 5;
    for (int k = 0; ok && k < 4; ++k) ok = absl::SimpleAtof(row[k + 1], &box[k]);
    if (!ok) {
      return ctx.Fail(absl::InvalidArgumentError(absl::StrCat(
          boxes_path, ": expected image,x1,y1,x2,y2, got '", absl::StrJoin(row, ","), "'")));
    }
    if (!annotated.count(row[0])) images.push_back(row[0]);
    annotated[row[0]].push_back(box);
  }
  if (args.Has("images")) {
    auto list = ReadFileBytes(args.Get("images"));
    if (!list.ok()) return ctx.Fail(list.status());
    for (const std::vector<std::string>& row : CsvRows(*list)) {
      if (row.empty() || row[0].empty() || annotated.count(row[0])) continue;
      annotated[row[0]];  // an image without a face
      images.push_back(row[0]);
    }
  }
  if (images.empty()) return ctx.Fail(absl::InvalidArgumentError("no images to evaluate"));

  auto stub = v1::FaceService::NewStub(MakeChannel(ctx.connection));
  DetectionTally tally;
  std::string detector;
  for (const std::string& image : images) {
    // The image beside the CSV, or in its images/ folder.
    std::string path = JoinPath(root, image);
    if (!std::filesystem::exists(path)) path = JoinPath(JoinPath(root, "images"), image);
    v1::AnalyzeOptions options;
    options.set_detect_only(true);
    options.set_min_detection_score(static_cast<float>(*min_score));
    absl::StatusOr<v1::AnalyzeResponse> analyzed =
        AnalyzeFile(*stub, ctx.connection, path, options);
    if (!analyzed.ok()) return ctx.Fail(analyzed.status());
    const v1::AnalyzeResponse& response = *analyzed;
    std::vector<BoxXyxy> detected;
    for (const v1::Face& face : response.faces()) {
      detected.push_back({face.box().x1(), face.box().y1(), face.box().x2(), face.box().y2()});
      if (detector.empty()) detector = face.detector_model();
    }
    tally.Add(annotated[image], detected, static_cast<float>(*iou));
  }

  if (args.Has("json")) {
    Json out = Json::object();
    out["detector"] = detector;
    out["iou_threshold"] = *iou;
    out["images"] = tally.images;
    out["annotated_faces"] = tally.annotated_faces;
    out["matched_faces"] = tally.matched_faces;
    out["recall"] = tally.recall();
    out["unmatched_detections"] = tally.unmatched_detections;
    out["no_face_images"] = tally.no_face_images;
    out["false_positives"] = tally.false_positives;
    *ctx.out << ToJsonLine(out) << std::endl;
  } else {
    *ctx.out << absl::StrFormat(
        "detector: %s\nimages: %d (%d without a face)\nrecall at IoU %.2f: %d/%d = %.4f\n"
        "unmatched detections on annotated images: %d\nfalse positives on images without a "
        "face: %d\n",
        detector.empty() ? "(no face found)" : detector, tally.images, tally.no_face_images, *iou,
        tally.matched_faces, tally.annotated_faces, tally.recall(), tally.unmatched_detections,
        tally.false_positives);
  }
  return 0;
}

}  // namespace faceserve::client
