#include "core/reader/png_decoder.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <vector>

#include <png.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/reader/decode_limits.h"

namespace faceserve {
namespace {

// What libpng's callbacks touch. Plain data only: libpng reports errors by
// longjmp-ing out of its own frames back to a setjmp in ReadHeader or
// ReadRows, which therefore hold no object with a destructor.
struct PngSession {
  png_structp png = nullptr;
  png_infop info = nullptr;
  png_infop end_info = nullptr;
  const unsigned char* data = nullptr;
  size_t size = 0;
  size_t pos = 0;
  char error[200] = "";
};

// Destroys the libpng structures however DecodePngToRgb returns (this frame
// has no setjmp, so ordinary destructors are safe here).
struct PngSessionCloser {
  PngSession* session;
  ~PngSessionCloser() {
    if (session->png != nullptr) {
      png_destroy_read_struct(&session->png, &session->info, &session->end_info);
    }
  }
};

void ReadFromMemory(png_structp png, png_bytep out, size_t length) {
  auto* session = static_cast<PngSession*>(png_get_io_ptr(png));
  // Also how a truncated file ends: libpng asks for bytes past the end.
  if (length > session->size - session->pos) png_error(png, "truncated file");
  std::memcpy(out, session->data + session->pos, length);
  session->pos += length;
}

// libpng's error callback must not return: keep the message, jump back.
void FailWithMessage(png_structp png, png_const_charp message) {
  auto* session = static_cast<PngSession*>(png_get_error_ptr(png));
  std::snprintf(session->error, sizeof(session->error), "%s", message);
  png_longjmp(png, 1);
}

void IgnoreWarning(png_structp, png_const_charp) {}  // as OpenCV (it prints them)

// Reads the chunks up to the image data and asks for 8-bit RGB rows with
// OpenCV's transformations (PngDecoder::readData for a CV_8UC3 image, minus
// its png_set_bgr). False with session->error set on failure.
bool ReadHeader(PngSession* session, int* width, int* height) {
  png_structp png = session->png;
  if (setjmp(png_jmpbuf(png)) != 0) return false;
  png_set_read_fn(png, session, ReadFromMemory);
  png_read_info(png, session->info);
  png_uint_32 w = 0, h = 0;
  int bit_depth = 0, color_type = 0;
  png_get_IHDR(png, session->info, &w, &h, &bit_depth, &color_type, nullptr, nullptr, nullptr);
  if (bit_depth == 16) png_set_strip_16(png);  // high byte, not rounded
  png_set_strip_alpha(png);                     // alpha and tRNS dropped
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  const bool grey = (color_type & PNG_COLOR_MASK_COLOR) == 0;
  if (grey && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (grey) png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, session->info);
  if (png_get_channels(png, session->info) != 3 || png_get_bit_depth(png, session->info) != 8 ||
      png_get_rowbytes(png, session->info) != size_t{w} * 3) {
    std::snprintf(session->error, sizeof(session->error),
                  "unsupported layout (colour type %d, bit depth %d)", color_type, bit_depth);
    return false;
  }
  *width = static_cast<int>(w);  // libpng refuses more than 2^31 - 1
  *height = static_cast<int>(h);
  return true;
}

// Decodes every row (all passes when interlaced) and reads on to IEND.
bool ReadRows(PngSession* session, png_bytepp rows) {
  if (setjmp(png_jmpbuf(session->png)) != 0) return false;
  png_read_image(session->png, rows);
  png_read_end(session->png, session->end_info);
  return true;
}

absl::Status DecodeError(const char* message) {
  return absl::InvalidArgumentError(absl::StrCat("could not decode PNG image: ", message));
}

}  // namespace

absl::StatusOr<cv::Mat> DecodePngToRgb(std::string_view bytes) {
  PngSession session;
  session.data = reinterpret_cast<const unsigned char*>(bytes.data());
  session.size = bytes.size();
  PngSessionCloser closer{&session};
  session.png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, &session, FailWithMessage, IgnoreWarning);
  if (session.png == nullptr) return absl::ResourceExhaustedError("could not create a PNG reader");
  session.info = png_create_info_struct(session.png);
  session.end_info = png_create_info_struct(session.png);
  if (session.info == nullptr || session.end_info == nullptr) {
    return absl::ResourceExhaustedError("could not create a PNG reader");
  }
  int width = 0, height = 0;
  if (!ReadHeader(&session, &width, &height)) return DecodeError(session.error);
  if (absl::Status s = CheckDecodeSize("PNG", width, height); !s.ok()) return s;
  cv::Mat rgb(height, width, CV_8UC3);
  std::vector<png_bytep> rows(static_cast<size_t>(height));
  for (int y = 0; y < height; ++y) rows[y] = rgb.ptr<unsigned char>(y);
  if (!ReadRows(&session, rows.data())) return DecodeError(session.error);
  return rgb;
}

}  // namespace faceserve
