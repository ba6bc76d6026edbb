// Replays every input kept in tests/fuzz/regressions/<target>/ through the
// fuzz target functions (fuzz_targets.h): each crash or broken contract the
// fuzzers ever found stays fixed. A failure aborts the test binary, naming
// the file in the log first.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/fuzz/fuzz_targets.h"

namespace faceserve {
namespace {

namespace fs = std::filesystem;

const fs::path kRegressions = fs::path(FACESERVE_SOURCE_DIR) / "tests/fuzz/regressions";

std::vector<fs::path> Inputs(const std::string& target) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kRegressions / target)) {
    if (entry.is_regular_file()) {
      files.push_back(entry.path());
    }
  }
  return files;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void Replay(const std::string& target, int (*fn)(const uint8_t*, size_t)) {
  const std::vector<fs::path> files = Inputs(target);
  ASSERT_FALSE(files.empty()) << "no inputs in " << (kRegressions / target);
  for (const fs::path& file : files) {
    std::cerr << "replaying " << file.filename() << std::endl;
    const std::string bytes = ReadFile(file);
    EXPECT_EQ(fn(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 0);
  }
}

TEST(FuzzRegressionTest, ImageReaderInputs) {
  Replay("image_reader", &fuzz::FuzzImageReader);
}

TEST(FuzzRegressionTest, RequestInputs) { Replay("request", &fuzz::FuzzRequest); }

TEST(FuzzRegressionTest, HttpRequestInputs) {
  Replay("http_request", &fuzz::FuzzHttpRequest);
}

}  // namespace
}  // namespace faceserve
