#include "client/face_size_sweep_runner.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/utilizer/jpeg_encoder.h"
#include "proto/rpc_status.h"

namespace faceserve::client {
namespace {

struct Answer {
  std::vector<FaceGeometry> faces;
  std::vector<SweepOtherFace> meta;  // score and truncated of each face
};

FaceGeometry FromProto(const v1::Face& face) {
  FaceGeometry g;
  g.box = {face.box().x1(), face.box().y1(), face.box().x2(), face.box().y2()};
  for (int i = 0; i < std::min(5, face.landmarks_5_size()); ++i) {
    g.landmarks[i] = {face.landmarks_5(i).x(), face.landmarks_5(i).y()};
  }
  return g;
}

absl::StatusOr<Answer> Analyze(v1::FaceService::Stub& stub, const ConnectionOptions& connection,
                               const cv::Mat& rgb, const SweepOptions& options) {
  absl::StatusOr<std::string> jpeg = EncodeRgbToJpeg(rgb, options.jpeg_quality);
  if (!jpeg.ok()) return jpeg.status();
  v1::AnalyzeRequest request;
  request.mutable_image()->set_encoded(*std::move(jpeg));
  v1::AnalyzeOptions* o = request.mutable_options();
  for (const std::string& p : options.predictors) o->add_predictors(p);
  o->set_detect_only(options.predictors.empty());
  o->set_min_detection_score(options.min_score);
  v1::AnalyzeResponse response;
  grpc::ClientContext context;
  SetDeadline(connection, context);
  if (grpc::Status s = stub.Analyze(&context, request, &response); !s.ok()) {
    return FromGrpcStatus(s);
  }
  Answer answer;
  for (const v1::Face& face : response.faces()) {
    if (face.landmarks_5_size() != 5) {
      return absl::FailedPreconditionError(
          "the server reports no five landmarks for a face: name a landmark predictor "
          "(--predictors landmarks)");
    }
    answer.faces.push_back(FromProto(face));
    answer.meta.push_back({face.detection_score(), face.truncated()});
  }
  return answer;
}

float Width(const BoxXyxy& b) { return b[2] - b[0]; }

}  // namespace

absl::StatusOr<FaceGeometry> FindReferenceFace(v1::FaceService::Stub& stub,
                                               const ConnectionOptions& connection,
                                               const SweepPortrait& portrait,
                                               const cv::Mat& background,
                                               const SweepOptions& options) {
  absl::StatusOr<Answer> whole = Analyze(stub, connection, portrait.rgb, options);
  if (!whole.ok()) return whole.status();
  if (whole->faces.empty()) {
    return absl::NotFoundError(absl::StrCat(portrait.name, ": no face found in the portrait"));
  }
  const FaceGeometry located = *std::max_element(
      whole->faces.begin(), whole->faces.end(),
      [](const FaceGeometry& a, const FaceGeometry& b) { return Width(a.box) < Width(b.box); });
  FaceGeometry sum;  // of the measurements in portrait pixels
  int measured = 0;
  for (int side : options.reference_long_sides) {
    for (bool turned : {false, true}) {
      const SweepImage image = MakeSweepImage(
          portrait.rgb, located, background, SweepStep{options.reference_share, side, turned});
      absl::StatusOr<Answer> answer = Analyze(stub, connection, image.rgb, options);
      if (!answer.ok()) return answer.status();
      const FaceGeometry* best = nullptr;
      float best_iou = 0.5f;  // the same face, measured again, overlaps well above this
      for (const FaceGeometry& f : answer->faces) {
        const float iou = BoxIoU(f.box, image.face.box);
        if (iou > best_iou) {
          best_iou = iou;
          best = &f;
        }
      }
      if (best == nullptr) {
        return absl::NotFoundError(absl::StrCat(portrait.name, ": the face is not found at ",
                                                options.reference_share * 100, " % of a ", side,
                                                " px image"));
      }
      const FaceGeometry in_portrait = MapToPortrait(*best, image);
      for (int k = 0; k < 4; ++k) sum.box[k] += in_portrait.box[k];
      for (int l = 0; l < 5; ++l) {
        sum.landmarks[l][0] += in_portrait.landmarks[l][0];
        sum.landmarks[l][1] += in_portrait.landmarks[l][1];
      }
      ++measured;
    }
  }
  if (measured == 0) return absl::InvalidArgumentError("no reference long side");
  for (float& v : sum.box) v /= measured;
  for (auto& p : sum.landmarks) {
    p[0] /= measured;
    p[1] /= measured;
  }
  return sum;
}

absl::StatusOr<std::vector<SweepRow>> RunFaceSizeSweep(
    v1::FaceService::Stub& stub, const ConnectionOptions& connection,
    const std::vector<SweepPortrait>& portraits, const std::vector<cv::Mat>& backgrounds,
    const std::vector<SweepStep>& steps, const SweepOptions& options) {
  if (portraits.empty() || backgrounds.empty()) {
    return absl::InvalidArgumentError("the sweep needs a portrait and a background");
  }
  std::vector<FaceGeometry> references;
  for (size_t p = 0; p < portraits.size(); ++p) {
    absl::StatusOr<FaceGeometry> ref = FindReferenceFace(
        stub, connection, portraits[p], backgrounds[p % backgrounds.size()], options);
    if (!ref.ok()) return ref.status();
    references.push_back(*ref);
  }
  const size_t total = portraits.size() * steps.size();
  std::vector<SweepRow> rows(total);
  std::atomic<size_t> next{0};
  std::mutex mu;
  absl::Status failure;
  auto work = [&] {
    for (size_t i = next++; i < total; i = next++) {
      const size_t p = i / steps.size();
      const SweepImage image = MakeSweepImage(
          portraits[p].rgb, references[p], backgrounds[p % backgrounds.size()],
          steps[i % steps.size()]);
      absl::StatusOr<Answer> answer = Analyze(stub, connection, image.rgb, options);
      if (!answer.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (failure.ok()) failure = answer.status();
        next = total;  // stop the others
        return;
      }
      SweepRow& row = rows[i];
      row.portrait = portraits[p].name;
      row.step = steps[i % steps.size()];
      row.width = image.rgb.cols;
      row.height = image.rgb.rows;
      row.judgement = JudgeSweepImage(image.face, row.width, row.height, answer->faces);
      // The faces other than the expected one (every face when it was lost).
      for (size_t f = 0; f < answer->faces.size(); ++f) {
        if (static_cast<int>(f) != row.judgement.matched) row.others.push_back(answer->meta[f]);
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < std::max(1, options.concurrency); ++t) threads.emplace_back(work);
  for (std::thread& t : threads) t.join();
  if (!failure.ok()) return failure;
  return rows;
}

std::string SweepTable(const std::vector<SweepRow>& rows) {
  struct Cell {
    int images = 0, found = 0, moved = 0, lost = 0, extra = 0;
  };
  std::map<int, std::map<int, Cell>> cells;  // share in 0.1 % -> long side -> cell
  std::vector<int> sides;
  for (const SweepRow& r : rows) {
    Cell& c = cells[static_cast<int>(std::lround(r.step.face_share * 1000))][r.step.long_side];
    ++c.images;
    c.found += r.judgement.outcome == SweepOutcome::kFound;
    c.moved += r.judgement.outcome == SweepOutcome::kMoved;
    c.lost += r.judgement.outcome == SweepOutcome::kLost;
    c.extra += r.judgement.outcome == SweepOutcome::kExtra;
    if (std::find(sides.begin(), sides.end(), r.step.long_side) == sides.end()) {
      sides.push_back(r.step.long_side);
    }
  }
  std::sort(sides.begin(), sides.end());
  std::string out = absl::StrFormat("%-7s", "face %");
  for (int side : sides) absl::StrAppend(&out, absl::StrFormat(" | %-13s", absl::StrCat(side, " px")));
  absl::StrAppend(&out, "\n");
  Cell all;
  for (const auto& [share, by_side] : cells) {
    absl::StrAppend(&out, absl::StrFormat("%-7s", absl::StrCat(share / 10.0)));
    for (int side : sides) {
      auto it = by_side.find(side);
      std::string cell;
      if (it != by_side.end()) {
        const Cell& c = it->second;
        cell = absl::StrCat(c.found, "/", c.images);
        if (c.moved > 0) absl::StrAppend(&cell, " ", c.moved, "M");
        if (c.lost > 0) absl::StrAppend(&cell, " ", c.lost, "L");
        if (c.extra > 0) absl::StrAppend(&cell, " ", c.extra, "E");
        all.images += c.images;
        all.found += c.found;
        all.moved += c.moved;
        all.lost += c.lost;
        all.extra += c.extra;
      }
      absl::StrAppend(&out, absl::StrFormat(" | %-13s", cell));
    }
    absl::StrAppend(&out, "\n");
  }
  absl::StrAppend(&out, absl::StrFormat(
                            "images %d: found %d, moved %d (landmarks), extra %d, lost %d\n",
                            all.images, all.found, all.moved, all.extra, all.lost));
  return out;
}

Json SweepRowsToJson(const std::vector<SweepRow>& rows) {
  Json out = Json::array();
  for (const SweepRow& r : rows) {
    Json others = Json::array();
    for (const SweepOtherFace& o : r.others) {
      others.push_back(Json{{"score", o.score}, {"truncated", o.truncated}});
    }
    out.push_back(Json{{"portrait", r.portrait},
                       {"face_share", r.step.face_share},
                       {"long_side", r.step.long_side},
                       {"orientation", r.step.portrait ? "portrait" : "landscape"},
                       {"width", r.width},
                       {"height", r.height},
                       {"outcome", SweepOutcomeName(r.judgement.outcome)},
                       {"faces", r.judgement.faces},
                       {"others_on_face", r.judgement.others_on_face},
                       {"iou", r.judgement.best_iou},
                       {"landmark_error", std::isfinite(r.judgement.landmark_error)
                                              ? Json(r.judgement.landmark_error)
                                              : Json(nullptr)},
                       {"landmark_errors", r.judgement.best_iou > 0
                                               ? Json(r.judgement.landmark_errors)
                                               : Json(nullptr)},
                       {"others", std::move(others)}});
  }
  return out;
}

}  // namespace faceserve::client
