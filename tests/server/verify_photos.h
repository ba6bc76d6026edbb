// The labelled photos of ../shared/data/faces/verify (one folder per
// person) for the server tests that enroll and identify real faces. The
// test binary defines FACESERVE_SOURCE_DIR; tests skip, saying why, when
// the folder is missing (a clone without ../shared).
#ifndef FACESERVE_TESTS_SERVER_VERIFY_PHOTOS_H_
#define FACESERVE_TESTS_SERVER_VERIFY_PHOTOS_H_

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace faceserve::testing {

inline const std::string kVerifyPhotos =
    std::string(FACESERVE_SOURCE_DIR) + "/../shared/data/faces/verify";

// The bytes of `identity`'s photo number `index`, in file name order.
inline std::string VerifyPhoto(const std::string& identity, int index) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(kVerifyPhotos + "/" + identity)) {
    files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::ifstream in(files.at(static_cast<size_t>(index)), std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

}  // namespace faceserve::testing

#endif  // FACESERVE_TESTS_SERVER_VERIFY_PHOTOS_H_
