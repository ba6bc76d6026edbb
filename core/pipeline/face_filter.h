// FaceFilter: one predictor run on some of the detected faces only. Streams
// run their tracker's descriptor only where the tracker will use it
// (FaceTracker::DescriptorsWanted), not on every face of every frame.
#ifndef FACESERVE_CORE_PIPELINE_FACE_FILTER_H_
#define FACESERVE_CORE_PIPELINE_FACE_FILTER_H_

#include <functional>
#include <string>
#include <vector>

#include "core/types.h"

namespace faceserve {

struct FaceFilter {
  std::string predictor;  // empty: no filter
  // Called once, after detection, with the faces (highest score first):
  // which of them `predictor` runs on. The others get no Prediction from
  // it; a mask of another length keeps them all.
  std::function<std::vector<bool>(const std::vector<Face>& faces)> keep;
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_PIPELINE_FACE_FILTER_H_
