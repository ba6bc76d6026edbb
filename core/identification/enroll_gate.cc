#include "core/identification/enroll_gate.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace faceserve {
namespace {

GateVerdict Reject(std::string rule, std::string message, float value, float limit) {
  GateVerdict v;
  v.rejection = EnrollRejection{std::move(rule), std::move(message), value, limit};
  return v;
}

// The score of `label` from the anti-spoof predictor's first classification
// head; nullopt when it did not run on this face.
std::optional<float> AntispoofScore(const Face& face, const EnrollGateConfig& gate) {
  for (const Prediction& p : face.predictions) {
    if (p.predictor != gate.antispoof_predictor) continue;
    for (const HeadResult& h : p.heads) {
      if (h.kind != HeadKind::kClassification) continue;
      for (const ClassScore& c : h.scores) {
        if (c.label == gate.antispoof_label) return c.score;
      }
    }
  }
  return std::nullopt;
}

}  // namespace

GateVerdict ChooseEnrollFace(const std::vector<Face>& faces, const std::optional<Box>& box,
                             bool largest, const EnrollGateConfig& gate) {
  const float count = static_cast<float>(faces.size());
  if (faces.empty()) return Reject("no_face", "no face found in the image", 0, 1);
  int chosen = -1;
  if (box.has_value()) {
    float best = 0;
    for (size_t i = 0; i < faces.size(); ++i) {
      const float iou = IoU(faces[i].detection.box, *box);
      if (iou > best) best = iou, chosen = static_cast<int>(i);
    }
    if (best < kEnrollBoxMinIoU) {
      return Reject("box_no_face",
                    absl::StrFormat("no detected face overlaps the given box (best IoU %.2f < %.2f)",
                                    best, kEnrollBoxMinIoU),
                    best, kEnrollBoxMinIoU);
    }
  } else if (faces.size() == 1) {
    chosen = 0;
  } else if (largest) {
    chosen = 0;
    for (size_t i = 1; i < faces.size(); ++i) {
      if (faces[i].detection.box.area() > faces[chosen].detection.box.area()) {
        chosen = static_cast<int>(i);
      }
    }
  } else {
    return Reject("one_face",
                  absl::StrCat(faces.size(), " faces in the image: give a box or set largest"),
                  count, 1);
  }
  const Detection& d = faces[chosen].detection;
  const float side = std::min(d.box.width(), d.box.height());
  if (gate.reject_truncated && d.truncated) {
    return Reject("truncated", "the face is cut by the image border", 1, 0);
  }
  if (side < static_cast<float>(gate.min_face_px)) {
    return Reject("min_face_px",
                  absl::StrFormat("the face is %.0f px on its shorter side, below %d", side,
                                  gate.min_face_px),
                  side, static_cast<float>(gate.min_face_px));
  }
  if (d.score < gate.min_detection_score) {
    return Reject("min_detection_score",
                  absl::StrFormat("detector score %.3f below %.3f", d.score,
                                  gate.min_detection_score),
                  d.score, gate.min_detection_score);
  }
  if (!gate.antispoof_predictor.empty()) {
    const std::optional<float> real = AntispoofScore(faces[chosen], gate);
    if (!real.has_value() || *real < gate.min_antispoof_score) {
      return Reject("antispoof",
                    absl::StrFormat("anti-spoof '%s' score %.3f below %.3f",
                                    gate.antispoof_label, real.value_or(0),
                                    gate.min_antispoof_score),
                    real.value_or(0), gate.min_antispoof_score);
    }
  }
  GateVerdict ok;
  ok.face = chosen;
  return ok;
}

}  // namespace faceserve
