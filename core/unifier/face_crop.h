// The unifier stage: how each model's input is cut out of the RGB image.
// Geometry follows @vladmandic/face-api (our models are face-api's):
//  - detectors: NetInput.toBatchTensor(size, centre) = padToSquare with zeros,
//    then tf.image.resizeBilinear(alignCorners=false, halfPixelCenters=false);
//  - per-face nets: extractFaceTensors (box clipped and floored) then
//    toBatchTensor(size, centred);
//  - recognition chips: dlib's get_face_chip_details + extract_image_chip.
// Every function is pure and thread-safe. Images are RGB, CV_8UC3 or CV_32FC3;
// crops come back as CV_32FC3 with values 0..255 (tfjs keeps the resized
// values as float; so do we). The resampler and the detector input are
// tf_resize.h.
#ifndef FACESERVE_CORE_UNIFIER_FACE_CROP_H_
#define FACESERVE_CORE_UNIFIER_FACE_CROP_H_

#include <vector>

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"
#include "core/tensor.h"
#include "core/types.h"
#include "core/unifier/tf_resize.h"

namespace faceserve {

// A model input cut from the image.
struct FaceCrop {
  cv::Mat rgb;  // CV_32FC3, 0..255, size x size (or as documented)
  // Affine map from crop pixel coordinates to image pixel coordinates
  // (x_img, y_img) = M * (x, y, 1), so landmark outputs map back.
  cv::Matx23f crop_to_image = cv::Matx23f::eye();
};

// face-api's extractFaceTensors + toBatchTensor(size, centred): `box` scaled
// by `scale` around its centre, clipped to the image and floored
// (Box.clipAtImageBorders), cut out, padded to a centred square with zeros and
// resized with ResizeBilinearLikeTf. A box that clips to nothing is widened to
// one pixel inside the image (face-api would drop the face). INVALID_ARGUMENT
// for an empty image or size <= 0.
absl::StatusOr<FaceCrop> CropBoxToSquare(const cv::Mat& rgb, const Box& box, int size,
                                         float scale = 1.0f);

// Silent-Face-Anti-Spoofing's CropImage (MiniFASNet, scale 2.7): the box
// scaled around its centre (scale reduced so it fits the image), shifted
// inside the image instead of padded, cut out inclusive of its last
// row/column and stretched to size x size with cv::resize INTER_LINEAR
// (as Silent-Face does). Note Silent-Face feeds BGR; the crop here is RGB.
absl::StatusOr<FaceCrop> CropScaledBoxShifted(const cv::Mat& rgb, const Box& box, int size,
                                              float scale);

// @vladmandic/human's face crop (the input of its facemesh, emotion,
// antispoof and liveness models): a square of side max(w, h) * scale centred
// on the box's centre, cut with tf.image.cropAndResize semantics (bilinear,
// the square's first and last pixel centres on the crop's first and last,
// zeros outside the image) to size x size.
absl::StatusOr<FaceCrop> CropSquareBox(const cv::Mat& rgb, const Box& box, int size, float scale);

// The whole image stretched to size x size with ResizeBilinearLikeTf (for
// inputs that already are face chips).
absl::StatusOr<FaceCrop> ResizeWholeImage(const cv::Mat& rgb, int size);

// face-api's alignedRect from 68 landmarks (withFaceLandmarks ->
// FaceLandmarks.align() with its defaults: alignMinBbox(0.2)): the landmarks'
// bounding box padded by 10% of its width/height on each side.
// Precondition: lm is non-empty.
Box BoxFromLandmarks68(const std::vector<Point>& lm);

// face-api's alignDlib box (used by computeFaceDescriptor):
// side = floor(mean eye-to-mouth-centre distance / 0.45), placed at
// (0.5, 0.43) of the side around the mean of eye and mouth centres, top-left
// floored and clamped at 0, width min(side, image_width + x) and height
// min(side, image_height + y) as face-api writes it (in practice: side; the
// box is clipped to the image by CropBoxToSquare). Precondition: 68 points.
Box DlibBoxFromLandmarks68(const std::vector<Point>& lm, int image_width, int image_height);

// Eye centres (means of 36-41 and 42-47), nose tip 30, mouth corners 48 and
// 54: image-left eye first (the subject's right). Precondition: 68 points.
std::vector<Point> Landmarks5From68(const std::vector<Point>& lm68);

// Where AlignBySimilarity puts the 5 points (Landmarks5From68 order) in a
// size x size chip with dlib's `padding`: derived from dlib's 68-point mean
// face (mean_face_shape_x/y) as (padding + m) / (2 padding + 1) * (size - 1).
// (size - 1, not size: dlib's extract_image_chip maps the chip's corner
// pixels 0 and size-1 onto the extraction rectangle's edges, which shrinks
// get_face_chip_details' template by (size-1)/size.)
std::vector<Point> SimilarityTemplate5(int size, float padding);

// The 33 points dlib's get_face_chip_details fits for 68-point shapes
// (27..54 and 60..64), same convention; `indices` receives their indices.
std::vector<Point> SimilarityTemplate68(int size, float padding, std::vector<int>* indices);

// Least-squares similarity transform (rotation, uniform scale, translation;
// no reflection) mapping `from` onto `to` (Umeyama's closed form in 2-D).
// Precondition: equal sizes >= 2, `from` not all one point.
cv::Matx23d EstimateSimilarity(const std::vector<Point>& from, const std::vector<Point>& to);

// dlib-style face chip for the recognition net: the similarity transform
// that best maps SimilarityTemplate5(size, padding) onto `landmarks5`,
// extracted with bilinear interpolation and zeros outside the image; when the
// chip is more than 2x smaller than the face, the image is first halved with
// cv::pyrDown as dlib does with its pyramid (dlib's pyramid_down<2> filter is
// similar, not identical). INVALID_ARGUMENT unless 5 distinct landmarks.
absl::StatusOr<FaceCrop> AlignBySimilarity(const cv::Mat& rgb,
                                           const std::vector<Point>& landmarks5, int size,
                                           float padding);

// Same from 68 landmarks, fitting all of dlib's template points
// (exactly dlib's get_face_chip_details for 68-point shapes).
absl::StatusOr<FaceCrop> AlignBySimilarity68(const cv::Mat& rgb,
                                             const std::vector<Point>& landmarks68, int size,
                                             float padding);

}  // namespace faceserve

#endif  // FACESERVE_CORE_UNIFIER_FACE_CROP_H_
