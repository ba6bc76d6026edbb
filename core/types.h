// Plain data types of the face pipeline, shared by every stage, the gRPC
// layer and the tests. No behaviour, no dependencies beyond the standard
// library.
#ifndef FACESERVE_CORE_TYPES_H_
#define FACESERVE_CORE_TYPES_H_

#include <cstdint>
#include <string>
#include <vector>

namespace faceserve {

// Pixel coordinates in the (EXIF-rotated) input image.
struct Point {
  float x = 0;
  float y = 0;
};

// Axis-aligned box in pixels, [x1, x2) x [y1, y2).
struct Box {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  float width() const { return x2 - x1; }
  float height() const { return y2 - y1; }
  float area() const { return width() > 0 && height() > 0 ? width() * height() : 0.0f; }
};

// Intersection over union of two boxes; 0 when either is empty.
float IoU(const Box& a, const Box& b);

// One face found by a detector, in original-image pixels.
struct Detection {
  Box box;
  float score = 0;
  // Landmarks the detector itself predicts (RetinaFace: 5), else empty.
  std::vector<Point> landmarks;
  // The box is cut by the image border or lies within 2 px of it: the face
  // may be only partly in the image (see IsTruncated).
  bool truncated = false;
};

// Raw pixels handed in by a client (see proto RawImage).
enum class ChannelOrder { kUnspecified, kRgb, kBgr, kRgba, kBgra, kGray };

// An image as received: either encoded bytes or raw pixels.
struct ImageInput {
  std::string encoded;  // JPEG / PNG / WebP / BMP file bytes, or empty
  bool is_raw = false;
  int width = 0;
  int height = 0;
  int stride_bytes = 0;  // 0: tightly packed
  ChannelOrder channel_order = ChannelOrder::kUnspecified;
  std::string pixels;
};

// ---------------------------------------------------------------------------
// Predictor results

struct ClassScore {
  std::string label;
  float score = 0;
};

// How a model output is turned into a result (chosen in configuration).
enum class HeadKind {
  kClassification,  // softmax (unless the model already outputs probabilities), top label
  kMultiLabel,      // sigmoid per label, labels above a threshold
  kRegression,      // named scalar values, optionally scaled
  kEmbedding,       // L2-normalised vector
  kLandmarks,       // points normalised to the crop, mapped back to the image
  kLandmarks3d,     // (x, y, z) points normalised to the crop (a face mesh): x, y
                    // mapped back to the image, z scaled to image pixels
};

// The result of one output head for one face.
struct HeadResult {
  std::string name;
  HeadKind kind = HeadKind::kClassification;
  // kClassification / kMultiLabel: every class in model order.
  std::vector<ClassScore> scores;
  std::string label;                       // kClassification: argmax
  float label_score = 0;                   // kClassification: its probability
  std::vector<std::string> active_labels;  // kMultiLabel
  float threshold = 0;                     // kMultiLabel
  // kRegression: (name, value) pairs.
  std::vector<std::pair<std::string, float>> values;
  std::vector<float> embedding;  // kEmbedding (unit length)
  std::vector<Point> points;     // kLandmarks, kLandmarks3d: image pixels
  std::vector<float> depths;     // kLandmarks3d: z of each point, image-pixel scale
};

// What one predictor produced for one face.
struct Prediction {
  std::string predictor;      // configured name
  std::string model;          // model name from its card
  std::string model_version;  // version from its card
  std::vector<HeadResult> heads;
};

// Where a head points relative to the camera, in degrees (see
// core/utilizer/head_pose.h for the exact definition of each angle).
struct HeadPose {
  float yaw_deg = 0;    // > 0: the face points to the image's right
  float pitch_deg = 0;  // > 0: the face points up
  float roll_deg = 0;   // > 0: the head tilts clockwise in the image
};

// A fully analysed face.
struct Face {
  Detection detection;
  std::string detector_model;
  std::vector<Point> landmarks5;   // always filled when any landmark source ran
  std::vector<Point> landmarks68;  // when the 68-point model ran
  bool has_head_pose = false;      // from the 68 landmarks, when configured
  HeadPose head_pose;
  bool has_mesh_head_pose = false;  // from a 468-point face mesh, when one ran
  HeadPose mesh_head_pose;
  std::vector<Prediction> predictions;
  std::string crop_jpeg;  // when requested
  float sharpness = -1;   // core/utilizer/face_sharpness.h, when requested; -1: not measured
};

// An embedding predictor and the descriptor it makes (what a gallery is
// bound to).
struct EmbeddingModelInfo {
  std::string predictor;  // configured name
  std::string model_id;   // "<model>@<version>" of its card
  int dimension = 0;      // values per embedding
  float verify_threshold = 0;
};

// Wall time spent in one stage of one request, queueing included.
struct StageTiming {
  std::string stage;
  double seconds = 0;
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_TYPES_H_
