#include "client/image_files.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "core/reader/image_reader.h"

namespace faceserve::client {

namespace fs = std::filesystem;

absl::StatusOr<std::string> ReadFileBytes(const std::string& path) {
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  if (!fs::is_regular_file(st)) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": not a regular file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::PermissionDeniedError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::InternalError(absl::StrCat(path, ": read error"));
  return std::move(buffer).str();
}

absl::StatusOr<cv::Mat> ReadRgbFile(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFileBytes(path);
  if (!bytes.ok()) return bytes.status();
  ImageInput input;
  input.encoded = *std::move(bytes);
  absl::StatusOr<cv::Mat> rgb = ReadImage(input, ReaderLimits{});
  if (!rgb.ok()) {
    return absl::Status(rgb.status().code(), absl::StrCat(path, ": ", rgb.status().message()));
  }
  return rgb;
}

absl::Status WriteFileBytes(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    return absl::PermissionDeniedError(
        absl::StrCat(path, ": cannot open for writing: ", std::strerror(errno)));
  }
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat(path, ": write error"));
  return absl::OkStatus();
}

absl::Status EnsureDirectory(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat(path, ": ", ec.message()));
  if (!fs::is_directory(path, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": not a folder"));
  }
  return absl::OkStatus();
}

std::string IndexedPath(const std::string& path, std::size_t index) {
  const size_t slash = path.find_last_of('/');
  const size_t name_start = slash == std::string::npos ? 0 : slash + 1;
  size_t dot = path.find_last_of('.');
  // A leading dot (".hidden") is not an extension.
  if (dot == std::string::npos || dot <= name_start) dot = path.size();
  return absl::StrCat(path.substr(0, dot), "_", index, path.substr(dot));
}

std::string FileStem(const std::string& path) { return fs::path(path).stem().string(); }

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return absl::StrCat(dir, "/", name);
}

absl::StatusOr<std::vector<IdentityFolder>> ListIdentityFolders(const std::string& dir) {
  std::error_code error;
  fs::directory_iterator it(dir, error);
  if (error) return absl::NotFoundError(absl::StrCat("cannot read folder ", dir, ": ", error.message()));
  std::vector<IdentityFolder> out;
  for (const fs::directory_entry& entry : it) {
    if (!entry.is_directory()) continue;
    IdentityFolder folder{entry.path().filename().string(), {}};
    for (const fs::directory_entry& file : fs::directory_iterator(entry.path(), error)) {
      std::string ext = file.path().extension().string();
      for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (file.is_regular_file() &&
          (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".webp" || ext == ".bmp")) {
        folder.images.push_back(file.path().string());
      }
    }
    if (folder.images.empty()) continue;
    std::sort(folder.images.begin(), folder.images.end());
    out.push_back(std::move(folder));
  }
  std::sort(out.begin(), out.end(),
            [](const IdentityFolder& a, const IdentityFolder& b) { return a.identity < b.identity; });
  return out;
}

}  // namespace faceserve::client
