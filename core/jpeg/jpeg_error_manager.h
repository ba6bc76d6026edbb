// JpegErrorManager: libjpeg's error handling for callers that return a
// Status. libjpeg reports a fatal error through error_exit, which must not
// return; this one saves the message and longjmps back to the caller's
// setjmp(jump). Warnings and traces are dropped (as OpenCV does).
//
//   JpegErrorManager errors;
//   cinfo.err = errors.Install();
//   if (setjmp(errors.jump) != 0) return ...(errors.message);
//
// The frame that calls setjmp must hold nothing with a destructor that the
// jump could skip (keep such objects on the heap, or built before setjmp).
#ifndef FACESERVE_CORE_JPEG_JPEG_ERROR_MANAGER_H_
#define FACESERVE_CORE_JPEG_JPEG_ERROR_MANAGER_H_

#include <csetjmp>
#include <cstdio>

// jpeglib.h needs FILE and size_t declared first.
#include <jpeglib.h>

namespace faceserve {

struct JpegErrorManager {
  jpeg_error_mgr pub;  // first: libjpeg sees only this part
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = {};  // the fatal error, once jumped

  // Fills `pub` with libjpeg's defaults and these handlers; returns the
  // pointer to store in the compress or decompress struct's `err`.
  jpeg_error_mgr* Install();
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_JPEG_JPEG_ERROR_MANAGER_H_
