// Where an image sits inside the square a detector's input is resized from
// (the "letterbox"): face-api's pad-to-square, optionally on a larger
// canvas, which shrinks the image inside the detector's input so that faces
// too large for the detector come within its range (detector.zoom_out).
// The unifier pads and resizes by it; the detection decoder maps boxes back
// by it: one definition for both.
#ifndef FACESERVE_CORE_LETTERBOX_H_
#define FACESERVE_CORE_LETTERBOX_H_

namespace faceserve {

struct Letterbox {
  int side = 0;  // the square's side, in image pixels
  int left = 0;  // where the image's top-left corner lies inside the square
  int top = 0;
};

// The square for a width x height image. canvas_scale 1: side max(w, h);
// larger: side round(max(w, h) * canvas_scale). `center` splits each axis's
// padding like face-api's padToSquare (round(padding / 2) after the image,
// the rest before); otherwise the image sits at the top-left. A
// canvas_scale below 1 is taken as 1.
Letterbox MakeLetterbox(int width, int height, bool center, float canvas_scale = 1.0f);

}  // namespace faceserve

#endif  // FACESERVE_CORE_LETTERBOX_H_
