// libFuzzer entry point of FuzzRequest (tests/fuzz/fuzz_targets.h).
#include <google/protobuf/stubs/logging.h>
#include <opencv2/core/utils/logger.hpp>

#include "tests/fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Protobuf logs every string field that is not UTF-8, OpenCV every
  // undecodable image; libFuzzer's own output matters here.
  google::protobuf::SetLogHandler(nullptr);
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return faceserve::fuzz::FuzzRequest(data, size);
}
