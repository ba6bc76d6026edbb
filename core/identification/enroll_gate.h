// The quality gate of enrollment (issue 27): which detected face of an image
// may become a gallery face, or the rule it failed with the measured value.
// A bad enrollment image makes every later identification of that person
// worse, so the gate is strict by default (core/config EnrollGateConfig).
#ifndef FACESERVE_CORE_IDENTIFICATION_ENROLL_GATE_H_
#define FACESERVE_CORE_IDENTIFICATION_ENROLL_GATE_H_

#include <optional>
#include <string>
#include <vector>

#include "core/config/config.h"
#include "core/types.h"

namespace faceserve {

// Why an input was not enrolled: the rule ("no_face", "one_face",
// "box_no_face", "truncated", "min_face_px", "min_detection_score",
// "antispoof", or an image error's reason), what was measured, the limit.
struct EnrollRejection {
  std::string rule;
  std::string message;
  float value = 0;
  float limit = 0;
};

struct GateVerdict {
  int face = -1;  // index into the faces; -1 when rejected
  EnrollRejection rejection;
};

// The minimum IoU between a client's box and the face it chooses.
inline constexpr float kEnrollBoxMinIoU = 0.3f;

// Chooses the face to enroll among `faces` (as Analyze returns them): the
// one overlapping `box` most when a box is given, else the largest when
// `largest`, else the only one; then checks it against `gate` (the
// anti-spoof rule reads the prediction of gate.antispoof_predictor).
GateVerdict ChooseEnrollFace(const std::vector<Face>& faces, const std::optional<Box>& box,
                             bool largest, const EnrollGateConfig& gate);

}  // namespace faceserve

#endif  // FACESERVE_CORE_IDENTIFICATION_ENROLL_GATE_H_
