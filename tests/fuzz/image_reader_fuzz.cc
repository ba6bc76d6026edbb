// Fuzz target: core/reader (PeekImageHeader, ReadImage) on hostile bytes.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/reader/image_header.h"
#include "core/reader/image_reader.h"
#include "tests/fuzz/fuzz_targets.h"

namespace faceserve {
namespace fuzz {
namespace {

// Small enough that a decode stays fast and within libFuzzer's memory limit,
// large enough for the seed photos.
constexpr ReaderLimits kLimits{4 << 20, 4 << 20};

#define FUZZ_CHECK(cond)                      \
  do {                                        \
    if (!(cond)) FuzzCheckFailed(#cond);      \
  } while (0)

// What every successful read promises.
void CheckImage(const absl::StatusOr<cv::Mat>& image) {
  if (!image.ok()) {
    const absl::StatusCode code = image.status().code();
    FUZZ_CHECK(code == absl::StatusCode::kInvalidArgument ||
               code == absl::StatusCode::kResourceExhausted);
    FUZZ_CHECK(!image.status().message().empty());
    return;
  }
  FUZZ_CHECK(image->type() == CV_8UC3);
  FUZZ_CHECK(image->isContinuous());
  FUZZ_CHECK(image->cols > 0 && image->rows > 0);
  FUZZ_CHECK(int64_t{image->cols} * image->rows <= kLimits.max_pixels);
}

int32_t Le32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return static_cast<int32_t>(v);
}

}  // namespace

void FuzzCheckFailed(const char* what) {
  std::fprintf(stderr, "fuzz check failed: %s\n", what);
  std::abort();
}

int FuzzImageReader(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);

  // Encoded: the header peek must agree with the decoder.
  absl::StatusOr<ImageHeader> header = PeekImageHeader(bytes);
  ImageInput encoded;
  encoded.encoded = bytes;
  absl::StatusOr<cv::Mat> image = ReadImage(encoded, kLimits);
  CheckImage(image);
  if (image.ok()) {
    FUZZ_CHECK(header.ok());
    FUZZ_CHECK(image->cols == header->width && image->rows == header->height);
  }
  if (!header.ok()) FUZZ_CHECK(!image.ok());

  // Raw: width, height, stride (int32 each, any sign), channel order, pixels.
  if (size >= 13) {
    ImageInput raw;
    raw.is_raw = true;
    raw.width = Le32(data);
    raw.height = Le32(data + 4);
    raw.stride_bytes = Le32(data + 8);
    raw.channel_order = static_cast<ChannelOrder>(data[12] % 6);
    raw.pixels.assign(reinterpret_cast<const char*>(data + 13), size - 13);
    absl::StatusOr<cv::Mat> pixels = ReadImage(raw, kLimits);
    CheckImage(pixels);
    if (pixels.ok()) FUZZ_CHECK(pixels->cols == raw.width && pixels->rows == raw.height);
  }
  return 0;
}

}  // namespace fuzz
}  // namespace faceserve
