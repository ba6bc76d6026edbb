// libFuzzer entry point of FuzzImageReader (tests/fuzz/fuzz_targets.h).
#include <opencv2/core/utils/logger.hpp>

#include "tests/fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // OpenCV logs every undecodable input; libFuzzer's own output matters here.
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return faceserve::fuzz::FuzzImageReader(data, size);
}
