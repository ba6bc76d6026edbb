#include "core/reader/jpeg_decoder.h"

#include <csetjmp>
#include <cstdio>
#include <memory>

// jpeglib.h needs FILE and size_t declared first.
#include <jpeglib.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace faceserve {
namespace {

// libjpeg reports fatal errors through error_exit, which must not return:
// it jumps back to DecodeJpegToRgb with the message saved.
struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void ExitWithError(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

void IgnoreMessage(j_common_ptr, int) {}  // warnings and traces, as OpenCV

}  // namespace

absl::StatusOr<cv::Mat> DecodeJpegToRgb(std::string_view bytes) {
  // Everything the error path touches lives on the heap or is set before
  // setjmp, so the longjmp leaves no object half-built on this frame.
  auto rgb = std::make_unique<cv::Mat>();
  auto cinfo = std::make_unique<jpeg_decompress_struct>();
  auto errors = std::make_unique<ErrorManager>();
  cinfo->err = jpeg_std_error(&errors->pub);
  errors->pub.error_exit = ExitWithError;
  errors->pub.emit_message = IgnoreMessage;
  errors->message[0] = '\0';
  if (setjmp(errors->jump) != 0) {
    jpeg_destroy_decompress(cinfo.get());
    return absl::InvalidArgumentError(
        absl::StrCat("could not decode JPEG image: ", errors->message));
  }
  jpeg_create_decompress(cinfo.get());
  jpeg_mem_src(cinfo.get(), reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(cinfo.get(), TRUE);
  if (cinfo->jpeg_color_space != JCS_YCbCr && cinfo->jpeg_color_space != JCS_GRAYSCALE &&
      cinfo->jpeg_color_space != JCS_RGB) {
    jpeg_destroy_decompress(cinfo.get());
    return absl::UnimplementedError(
        absl::StrCat("JPEG colour space ", static_cast<int>(cinfo->jpeg_color_space)));
  }
  cinfo->out_color_space = JCS_RGB;
  cinfo->dct_method = JDCT_ISLOW;
  cinfo->do_fancy_upsampling = TRUE;
  jpeg_start_decompress(cinfo.get());
  rgb->create(static_cast<int>(cinfo->output_height), static_cast<int>(cinfo->output_width),
              CV_8UC3);
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = rgb->ptr<unsigned char>(static_cast<int>(cinfo->output_scanline));
    jpeg_read_scanlines(cinfo.get(), &row, 1);
  }
  jpeg_finish_decompress(cinfo.get());
  jpeg_destroy_decompress(cinfo.get());
  return std::move(*rgb);
}

}  // namespace faceserve
