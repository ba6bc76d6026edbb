#include "core/utilizer/jpeg_encoder.h"

#include <csetjmp>
#include <cstdlib>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/jpeg/jpeg_error_manager.h"  // first: it includes jpeglib.h as jerror.h needs

#include <jerror.h>  // ERREXIT

namespace faceserve {
namespace {

// A destination growing a malloc'ed buffer, freed by EncodeRgbToJpeg on every
// path (jpeg_mem_dest leaks its buffer when compression fails halfway).
struct GrowingBuffer {
  jpeg_destination_mgr pub;  // first: libjpeg sees only this part
  unsigned char* data;
  size_t capacity;
  size_t size;  // set when compression finishes
};

constexpr size_t kInitialCapacity = 64 << 10;

void Grow(j_compress_ptr cinfo, size_t capacity) {
  auto* buffer = reinterpret_cast<GrowingBuffer*>(cinfo->dest);
  auto* grown = static_cast<unsigned char*>(std::realloc(buffer->data, capacity));
  if (grown == nullptr) ERREXIT(cinfo, JERR_OUT_OF_MEMORY);
  buffer->pub.next_output_byte = grown + buffer->capacity;
  buffer->pub.free_in_buffer = capacity - buffer->capacity;
  buffer->data = grown;
  buffer->capacity = capacity;
}

void InitDestination(j_compress_ptr cinfo) { Grow(cinfo, kInitialCapacity); }

// Called when the buffer is full (whatever free_in_buffer says).
boolean EmptyOutputBuffer(j_compress_ptr cinfo) {
  Grow(cinfo, reinterpret_cast<GrowingBuffer*>(cinfo->dest)->capacity * 2);
  return TRUE;
}

void TermDestination(j_compress_ptr cinfo) {
  auto* buffer = reinterpret_cast<GrowingBuffer*>(cinfo->dest);
  buffer->size = buffer->capacity - buffer->pub.free_in_buffer;
}

// The libjpeg calls, under setjmp; only plain data on this frame, so the
// longjmp skips no destructor. False with errors->message set on failure.
bool Compress(const unsigned char* pixels, size_t step, int width, int height, int quality,
              jpeg_compress_struct* cinfo, JpegErrorManager* errors, GrowingBuffer* buffer) {
  if (setjmp(errors->jump) != 0) return false;
  jpeg_create_compress(cinfo);
  cinfo->dest = &buffer->pub;
  cinfo->image_width = static_cast<JDIMENSION>(width);
  cinfo->image_height = static_cast<JDIMENSION>(height);
  cinfo->input_components = 3;
  cinfo->in_color_space = JCS_RGB;
  // OpenCV's JpegEncoder::write with only IMWRITE_JPEG_QUALITY given.
  jpeg_set_defaults(cinfo);
  cinfo->restart_interval = 0;
  jpeg_set_quality(cinfo, quality, TRUE /* limit to baseline-JPEG values */);
  jpeg_start_compress(cinfo, TRUE);
  while (cinfo->next_scanline < cinfo->image_height) {
    JSAMPROW row = const_cast<unsigned char*>(pixels + step * cinfo->next_scanline);
    jpeg_write_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_compress(cinfo);
  return true;
}

}  // namespace

absl::StatusOr<std::string> EncodeRgbToJpeg(const cv::Mat& rgb, int quality) {
  if (rgb.empty() || rgb.type() != CV_8UC3) {
    return absl::InvalidArgumentError("JPEG encoding needs a non-empty CV_8UC3 image");
  }
  if (quality < 1 || quality > 100) {
    return absl::InvalidArgumentError(absl::StrCat("JPEG quality ", quality, " not in 1..100"));
  }
  jpeg_compress_struct cinfo{};
  JpegErrorManager errors;
  cinfo.err = errors.Install();
  GrowingBuffer buffer{};
  buffer.pub.init_destination = InitDestination;
  buffer.pub.empty_output_buffer = EmptyOutputBuffer;
  buffer.pub.term_destination = TermDestination;
  const bool ok =
      Compress(rgb.data, rgb.step, rgb.cols, rgb.rows, quality, &cinfo, &errors, &buffer);
  jpeg_destroy_compress(&cinfo);
  const std::unique_ptr<unsigned char, decltype(&std::free)> owned(buffer.data, &std::free);
  if (!ok) return absl::InternalError(absl::StrCat("JPEG encoding failed: ", errors.message));
  return std::string(reinterpret_cast<const char*>(owned.get()), buffer.size);
}

}  // namespace faceserve
