// Synthetic video sequences with exact ground truth, for measuring face
// tracking (issue 32, item 7). Real face photos move over real background
// photos; each sequence is drawn from a fixed seed and its index, and is
// built to hold, every time:
//   - 2 crossings: two faces overlapping at IoU >= 0.5 for >= 10 frames;
//   - 1 full occlusion of >= 1 s: a panel sweeping across hides a face;
//   - 1 exit and return >= 2 s later, with another photo of the same person;
//   - 1 scale change of >= 3x: a face walking towards the camera;
//   - motion blur along each face's motion (length: half a frame's travel);
//   - every frame compressed as JPEG of quality 60.
// Make() checks these on the sequence's geometry (facts()) and fails rather
// than return a sequence without them.
//
// Three people per sequence (truth ids 1, 2, 3), 250 frames of 640x480 at
// 25 fps (10 s). A face is a round cut-out of its photo around the face,
// feathered at the edge; its truth box is the face's box in the photo (the
// detector's own answer there, so that the boxes agree in style) moved and
// scaled with it, clipped to the frame. Each truth has a visibility: the
// share of its box not hidden by what is in front or outside the frame.
#ifndef FACESERVE_CLIENT_SYNTHETIC_SEQUENCE_H_
#define FACESERVE_CLIENT_SYNTHETIC_SEQUENCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"
#include "core/types.h"

namespace faceserve::client {

// A face photo: RGB, and its face's box in it.
struct FacePhoto {
  cv::Mat rgb;
  Box face;
};

// One person's photos (at least 2 to take part).
struct PersonPhotos {
  std::string name;
  std::vector<FacePhoto> photos;
};

struct SequenceTruth {
  int64_t id = 0;
  Box box;                // clipped to the frame
  double visibility = 0;  // in [0, 1]
};

struct SequenceFrame {
  std::string jpeg;  // quality 60
  std::vector<SequenceTruth> truths;  // the people in the picture (visibility > 0)
};

// What Make() checked, for the report.
struct SequenceFacts {
  int crossings = 0;                  // runs of >= 10 frames at IoU >= 0.5, pairs of faces
  int longest_crossing_frames = 0;
  int longest_full_occlusion_frames = 0;  // inside the frame, hidden entirely
  int return_gap_frames = 0;          // frames wholly out between exit and return
  bool returned_with_other_photo = false;
  double scale_change = 0;            // largest / smallest face width of one person
};

class SyntheticSequence {
 public:
  static constexpr int kWidth = 640;
  static constexpr int kHeight = 480;
  static constexpr double kFps = 25;
  static constexpr int kFrames = 250;

  // `people`: at least 3 with 2 photos each; `backgrounds`: at least 1 RGB
  // photo without faces. INVALID_ARGUMENT without them, INTERNAL when the
  // drawn sequence misses one of its properties (a bug).
  static absl::StatusOr<SyntheticSequence> Make(const std::vector<PersonPhotos>& people,
                                                const std::vector<cv::Mat>& backgrounds,
                                                uint64_t seed, int index);

  const SequenceFacts& facts() const { return facts_; }
  const std::string& description() const { return description_; }
  // Frame `f` (0 <= f < kFrames): pixels and truths. Deterministic.
  SequenceFrame Render(int f) const;

  // One person's place in one frame, and the cut-out drawn there.
  struct Placement {
    bool present = false;
    double cx = 0, cy = 0;  // the face box's centre
    double face_width = 0;  // of the face box
    int photo = 0;          // index into the person's photos
    double speed = 0;       // pixels per frame, for the motion blur
  };
  struct Person {
    int64_t id = 0;
    const PersonPhotos* photos = nullptr;
    std::vector<Placement> frames;  // kFrames
  };

 private:
  SyntheticSequence() = default;
  // The boxes and their visibility of frame f, from the geometry alone.
  std::vector<SequenceTruth> Truths(int f) const;

  std::vector<Person> people_;  // back to front
  cv::Mat background_;          // kWidth x kHeight RGB
  cv::Mat panel_;               // the occluding panel's texture (RGB)
  std::vector<double> panel_x_;  // the panel's centre per frame
  int panel_width_ = 0;
  std::vector<std::vector<SequenceTruth>> truths_;  // per frame, computed once by Make()
  SequenceFacts facts_;
  std::string description_;
};

}  // namespace faceserve::client

#endif  // FACESERVE_CLIENT_SYNTHETIC_SEQUENCE_H_
