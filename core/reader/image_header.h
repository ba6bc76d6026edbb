// Reads an encoded image's format and size from its header without decoding
// it, so that size limits can be enforced before any pixel memory is
// allocated. Every read is bounds-checked: the parser is meant to be fed
// hostile and truncated input (and fuzzed). Pure functions, thread-safe.
#ifndef FACESERVE_CORE_READER_IMAGE_HEADER_H_
#define FACESERVE_CORE_READER_IMAGE_HEADER_H_

#include <string_view>

#include "absl/status/statusor.h"

namespace faceserve {

enum class ImageFormat { kUnknown, kJpeg, kPng, kWebp, kBmp };

// "JPEG", "PNG", "WebP", "BMP" ("unknown" for kUnknown).
const char* ImageFormatName(ImageFormat format);

// The format named by the file's magic bytes; kUnknown when none matches.
ImageFormat DetectImageFormat(std::string_view bytes);

struct ImageHeader {
  ImageFormat format = ImageFormat::kUnknown;
  // Size as displayed, i.e. after applying `orientation` (swapped for 5..8).
  int width = 0;
  int height = 0;
  // Size as stored in the file.
  int stored_width = 0;
  int stored_height = 0;
  // EXIF orientation 1..8 (JPEG APP1 only; 1 when absent or invalid).
  int orientation = 1;
};

// INVALID_ARGUMENT when the format is unknown, the header is truncated or
// malformed, or a dimension is zero.
absl::StatusOr<ImageHeader> PeekImageHeader(std::string_view bytes);

// EXIF orientation from a TIFF block (the APP1 payload after "Exif\0\0");
// 1 when absent or malformed. Exposed for tests.
int ParseExifOrientation(std::string_view tiff);

}  // namespace faceserve

#endif  // FACESERVE_CORE_READER_IMAGE_HEADER_H_
