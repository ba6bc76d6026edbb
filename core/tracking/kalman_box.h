// KalmanBox: one face's box followed with a constant-velocity Kalman filter,
// as ByteTrack (and SORT before it) does: the state is the box's centre,
// aspect ratio (width / height) and height, and their velocities; the
// noise grows with the box's height (ByteTrack's weights: position 1/20,
// velocity 1/160 of the height per frame). Time steps come from the
// caller's timestamps, in frames of `nominal_fps`, so that an irregular
// stream (a dropped frame, a slow camera) is predicted as far as it moved.
// Written out with OpenCV's fixed-size matrices (core only: cv::KalmanFilter
// would bring in opencv_video).
#ifndef FACESERVE_CORE_TRACKING_KALMAN_BOX_H_
#define FACESERVE_CORE_TRACKING_KALMAN_BOX_H_

#include <opencv2/core/matx.hpp>

#include "core/types.h"

namespace faceserve {

class KalmanBox {
 public:
  explicit KalmanBox(const Box& first);

  // Moves the state `frames` frames ahead (fractions allowed; 0: no move).
  void Predict(double frames);
  // Corrects the state with a measured box.
  void Update(const Box& measured);
  // The current estimate.
  Box box() const;

 private:
  cv::Matx<double, 8, 1> x_;  // cx, cy, aspect, h, and their velocities per frame
  cv::Matx<double, 8, 8> p_;  // its covariance
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_TRACKING_KALMAN_BOX_H_
