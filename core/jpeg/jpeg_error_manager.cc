#include "core/jpeg/jpeg_error_manager.h"

namespace faceserve {
namespace {

void ExitWithError(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

void IgnoreMessage(j_common_ptr, int) {}

}  // namespace

jpeg_error_mgr* JpegErrorManager::Install() {
  jpeg_std_error(&pub);
  pub.error_exit = ExitWithError;
  pub.emit_message = IgnoreMessage;
  message[0] = '\0';
  return &pub;
}

}  // namespace faceserve
