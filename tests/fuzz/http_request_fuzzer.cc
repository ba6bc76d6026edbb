// libFuzzer entry point of FuzzHttpRequest (tests/fuzz/fuzz_targets.h).
#include <google/protobuf/stubs/logging.h>
#include <opencv2/core/utils/logger.hpp>

#include "tests/fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return faceserve::fuzz::FuzzHttpRequest(data, size);
}
