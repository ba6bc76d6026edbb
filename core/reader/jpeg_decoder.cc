#include "core/reader/jpeg_decoder.h"

#include <csetjmp>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/jpeg/jpeg_error_manager.h"
#include "core/reader/decode_limits.h"

namespace faceserve {
namespace {

// OpenCV's icvCvt_CMYK2BGR_8u_C4C3R (imgcodecs/src/utils.cpp), writing RGB.
// libjpeg hands the samples over as stored, which for Adobe's CMYK (the usual
// kind) means inverted: c = 255 - cyan. k - (255 - c) * k / 256 =
// k * (c + 1) / 256 is then about c * k / 255, the red of cyan over black;
// the shift is kept for bit-exactness.
void CmykToRgb(const unsigned char* cmyk, int width, unsigned char* rgb) {
  for (int x = 0; x < width; ++x, cmyk += 4, rgb += 3) {
    const int k = cmyk[3];
    rgb[0] = static_cast<unsigned char>(k - (((255 - cmyk[0]) * k) >> 8));
    rgb[1] = static_cast<unsigned char>(k - (((255 - cmyk[1]) * k) >> 8));
    rgb[2] = static_cast<unsigned char>(k - (((255 - cmyk[2]) * k) >> 8));
  }
}

}  // namespace

absl::StatusOr<cv::Mat> DecodeJpegToRgb(std::string_view bytes) {
  // Everything the error path touches lives on the heap or is set before
  // setjmp, so the longjmp leaves no object half-built on this frame.
  auto rgb = std::make_unique<cv::Mat>();
  auto cinfo = std::make_unique<jpeg_decompress_struct>();
  auto errors = std::make_unique<JpegErrorManager>();
  auto cmyk_row = std::make_unique<std::vector<unsigned char>>();
  cinfo->err = errors->Install();
  if (setjmp(errors->jump) != 0) {
    jpeg_destroy_decompress(cinfo.get());
    return absl::InvalidArgumentError(
        absl::StrCat("could not decode JPEG image: ", errors->message));
  }
  jpeg_create_decompress(cinfo.get());
  jpeg_mem_src(cinfo.get(), reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(cinfo.get(), TRUE);
  // OpenCV's test: any 4-component JPEG (Adobe CMYK or YCCK) is read as CMYK.
  const bool cmyk = cinfo->num_components == 4;
  if (!cmyk && cinfo->jpeg_color_space != JCS_YCbCr &&
      cinfo->jpeg_color_space != JCS_GRAYSCALE && cinfo->jpeg_color_space != JCS_RGB) {
    jpeg_destroy_decompress(cinfo.get());
    return absl::InvalidArgumentError(
        absl::StrCat("could not decode JPEG image: unsupported colour space with ",
                     cinfo->num_components, " components"));
  }
  if (absl::Status s = CheckDecodeSize("JPEG", cinfo->image_width, cinfo->image_height);
      !s.ok()) {
    jpeg_destroy_decompress(cinfo.get());
    return s;
  }
  cinfo->out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  cinfo->dct_method = JDCT_ISLOW;
  cinfo->do_fancy_upsampling = TRUE;
  jpeg_start_decompress(cinfo.get());
  rgb->create(static_cast<int>(cinfo->output_height), static_cast<int>(cinfo->output_width),
              CV_8UC3);
  if (cmyk) cmyk_row->resize(size_t{cinfo->output_width} * 4);
  while (cinfo->output_scanline < cinfo->output_height) {
    unsigned char* out = rgb->ptr<unsigned char>(static_cast<int>(cinfo->output_scanline));
    JSAMPROW row = cmyk ? cmyk_row->data() : out;
    jpeg_read_scanlines(cinfo.get(), &row, 1);
    if (cmyk) CmykToRgb(cmyk_row->data(), static_cast<int>(cinfo->output_width), out);
  }
  jpeg_finish_decompress(cinfo.get());
  jpeg_destroy_decompress(cinfo.get());
  return std::move(*rgb);
}

}  // namespace faceserve
