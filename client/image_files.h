// File helpers for facectl: read images and CSVs, write JPEGs, derive output
// names. Thread-safe (no shared state).
#ifndef FACESERVE_CLIENT_IMAGE_FILES_H_
#define FACESERVE_CLIENT_IMAGE_FILES_H_

#include <cstddef>
#include <string>
#include <vector>
#include <string_view>

#include <opencv2/core.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace faceserve::client {

// The whole file. NOT_FOUND when it does not exist, FAILED_PRECONDITION when
// it is not a regular file, INTERNAL on a read error.
absl::StatusOr<std::string> ReadFileBytes(const std::string& path);

// An image file decoded as the server's reader decodes it: RGB, EXIF
// orientation applied. Errors name the path.
absl::StatusOr<cv::Mat> ReadRgbFile(const std::string& path);

// Writes (replaces) the file. The parent folder must exist.
absl::Status WriteFileBytes(const std::string& path, std::string_view bytes);

// Creates the folder and its parents if missing.
absl::Status EnsureDirectory(const std::string& path);

// "out.jpg", 3 -> "out_3.jpg"; "dir/out", 0 -> "dir/out_0". Only the last
// path component's extension counts ("a.b/out" -> "a.b/out_3").
std::string IndexedPath(const std::string& path, std::size_t index);

// The file name without folder and last extension: "a/b/img.01.jpg" -> "img.01".
std::string FileStem(const std::string& path);

// dir + "/" + name, without doubling a trailing slash; name when dir is empty.
std::string JoinPath(const std::string& dir, const std::string& name);

// One sub-folder per identity, each with its images (.jpg .jpeg .png .webp
// .bmp, any case), both sorted by name; folders without an image are left
// out. NOT_FOUND when `dir` cannot be read.
struct IdentityFolder {
  std::string identity;
  std::vector<std::string> images;  // paths
};
absl::StatusOr<std::vector<IdentityFolder>> ListIdentityFolders(const std::string& dir);

}  // namespace faceserve::client

#endif  // FACESERVE_CLIENT_IMAGE_FILES_H_
