// The fuzz targets as plain functions, shared by the libFuzzer executables
// (FACESERVE_BUILD_FUZZERS, clang) and by fuzz_regression_test, which replays
// every input kept in tests/fuzz/regressions/ in the normal build.
//
// Each function checks the contract of the code under test on any input and
// calls FuzzCheckFailed() (which aborts) when it is broken; crashes and
// sanitizer reports end the run by themselves. Thread-compatible.
#ifndef FACESERVE_TESTS_FUZZ_FUZZ_TARGETS_H_
#define FACESERVE_TESTS_FUZZ_FUZZ_TARGETS_H_

#include <cstddef>
#include <cstdint>

namespace faceserve {
namespace fuzz {

// core/reader: the bytes as an encoded image (every accepted format and
// anything else), and the same bytes as a raw image whose geometry comes from
// the first 13 bytes.
int FuzzImageReader(const uint8_t* data, size_t size);

// server/proto_convert: the bytes parsed as AnalyzeRequest, EmbedRequest and
// VerifyRequest; every request that parses goes through the service's
// validation and conversion, and each image it carries through the reader:
// everything a request meets before a model.
int FuzzRequest(const uint8_t* data, size_t size);

// server/http_request: the bytes as an HTTP request (a Content-Type, a
// request message, a query and a body) made into its RPC message; those of
// FaceService then through FuzzRequest. Input layout: http_request_fuzz.cc.
int FuzzHttpRequest(const uint8_t* data, size_t size);

// Prints `what` and aborts.
[[noreturn]] void FuzzCheckFailed(const char* what);

}  // namespace fuzz
}  // namespace faceserve

#endif  // FACESERVE_TESTS_FUZZ_FUZZ_TARGETS_H_
