// BMP (Windows bitmap) to RGB with our own parser, no library. Reads what
// OpenCV 4.6's imdecode(IMREAD_COLOR) reads (imgcodecs/src/grfmt_bmp.cpp),
// with the same pixels:
//  - headers: BITMAPCOREHEADER (12 bytes, OS/2), BITMAPINFOHEADER (40) and
//    the longer V2..V5 headers (52..124; their colour-space fields ignored);
//  - 1, 4 and 8 bits per pixel through the palette (RLE4 and RLE8 too);
//  - 16 bits: 5-5-5 (BI_RGB or BI_BITFIELDS) and 5-6-5 (BI_BITFIELDS), each
//    field shifted up without replicating its high bits, as OpenCV;
//  - 24 bits, and 32 bits with the alpha byte dropped;
//  - bottom-up (positive height) and top-down (negative height) rows.
// Everything else (other bit fields, BI_JPEG/BI_PNG, 2 and 64 bits per pixel)
// is INVALID_ARGUMENT. Two deliberate differences from OpenCV, both for files
// OpenCV reads wrongly: the BI_BITFIELDS masks are read where the format puts
// them (file offset 54, inside a V2+ header) rather than after the header,
// and a 32-bit BI_BITFIELDS image is accepted only with the standard 8-8-8
// masks (OpenCV ignores them). Every read is bounds-checked (the parser is
// fuzzed). Pure function, thread-safe.
#ifndef FACESERVE_CORE_READER_BMP_DECODER_H_
#define FACESERVE_CORE_READER_BMP_DECODER_H_

#include <string_view>

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"

namespace faceserve {

// An RGB CV_8UC3 continuous image of the bitmap's size. INVALID_ARGUMENT for
// a malformed, unsupported or truncated file (a missing row, padding of the
// last row included, is an error, as in OpenCV).
absl::StatusOr<cv::Mat> DecodeBmpToRgb(std::string_view bytes);

}  // namespace faceserve

#endif  // FACESERVE_CORE_READER_BMP_DECODER_H_
