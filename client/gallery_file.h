// The portable gallery file of `facectl gallery export|import`: a backup,
// and the way to move a gallery between servers. JSON Lines, so that it
// streams and diffs:
//
//   {"format": "faceserve-gallery", "version": 1, "gallery": NAME,
//    "descriptor_model": "face_recognition@...", "dimension": 128,
//    "threshold": 0.9, "subjects": N, "faces": M}
//   {"subject": ID, "metadata": {...}, "faces": [BASE64, ...]}      one per subject
//
// Each face is its embedding as little-endian float32, base64: exact (no
// decimal rounding) and a third of the size of decimal text.
#ifndef FACESERVE_CLIENT_GALLERY_FILE_H_
#define FACESERVE_CLIENT_GALLERY_FILE_H_

#include <istream>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace faceserve::client {

struct GalleryFileHeader {
  std::string gallery;
  std::string descriptor_model;
  int dimension = 0;
  float threshold = 0;
  int64_t subjects = 0, faces = 0;
};

struct GalleryFileSubject {
  std::string subject;
  std::map<std::string, std::string> metadata;
  std::vector<std::vector<float>> faces;
};

std::string GalleryHeaderLine(const GalleryFileHeader& header);
std::string GallerySubjectLine(const GalleryFileSubject& subject);

// INVALID_ARGUMENT naming the line for anything that is not this format
// (another format or version, a face of the wrong length, bad base64).
absl::StatusOr<GalleryFileHeader> ParseGalleryHeader(const std::string& line);
absl::StatusOr<GalleryFileSubject> ParseGallerySubject(const std::string& line, int dimension,
                                                       int line_number);

// Every face of the gallery file at `path`, in file order (the queries of
// `facectl bench --rpc search`).
absl::StatusOr<std::vector<std::vector<float>>> ReadGalleryFileFaces(const std::string& path);

}  // namespace faceserve::client

#endif  // FACESERVE_CLIENT_GALLERY_FILE_H_
