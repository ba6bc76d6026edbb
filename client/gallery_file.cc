#include "client/gallery_file.h"

#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace faceserve::client {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the file's floats are little-endian");

constexpr char kFormat[] = "faceserve-gallery";
constexpr int kVersion = 1;

absl::Status Bad(int line, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("gallery file line ", line, ": ", what));
}

}  // namespace

std::string GalleryHeaderLine(const GalleryFileHeader& h) {
  nlohmann::ordered_json j;
  j["format"] = kFormat;
  j["version"] = kVersion;
  j["gallery"] = h.gallery;
  j["descriptor_model"] = h.descriptor_model;
  j["dimension"] = h.dimension;
  j["threshold"] = h.threshold;
  j["subjects"] = h.subjects;
  j["faces"] = h.faces;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string GallerySubjectLine(const GalleryFileSubject& s) {
  nlohmann::ordered_json j;
  j["subject"] = s.subject;
  j["metadata"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : s.metadata) j["metadata"][k] = v;
  j["faces"] = nlohmann::ordered_json::array();
  for (const std::vector<float>& f : s.faces) {
    j["faces"].push_back(absl::Base64Escape(
        absl::string_view(reinterpret_cast<const char*>(f.data()), f.size() * sizeof(float))));
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<GalleryFileHeader> ParseGalleryHeader(const std::string& line) {
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object() || j.value("format", "") != kFormat) {
    return Bad(1, "not a faceserve gallery file (no \"format\": \"faceserve-gallery\")");
  }
  if (j.value("version", 0) != kVersion) {
    return Bad(1, absl::StrCat("version ", j.value("version", 0), " is not ", kVersion));
  }
  GalleryFileHeader h;
  h.gallery = j.value("gallery", "");
  h.descriptor_model = j.value("descriptor_model", "");
  h.dimension = j.value("dimension", 0);
  h.threshold = j.value("threshold", 0.0f);
  h.subjects = j.value("subjects", int64_t{0});
  h.faces = j.value("faces", int64_t{0});
  if (h.descriptor_model.empty() || h.dimension <= 0) {
    return Bad(1, "descriptor_model and a positive dimension are required");
  }
  return h;
}

absl::StatusOr<GalleryFileSubject> ParseGallerySubject(const std::string& line, int dimension,
                                                       int line_number) {
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object() || !j.contains("subject") || !j["subject"].is_string()) {
    return Bad(line_number, "not a subject line (no \"subject\")");
  }
  GalleryFileSubject s;
  s.subject = j["subject"].get<std::string>();
  if (j.contains("metadata") && j["metadata"].is_object()) {
    for (const auto& [k, v] : j["metadata"].items()) {
      if (!v.is_string()) return Bad(line_number, absl::StrCat("metadata '", k, "' is not a string"));
      s.metadata[k] = v.get<std::string>();
    }
  }
  if (!j.contains("faces") || !j["faces"].is_array()) return Bad(line_number, "no \"faces\" list");
  for (const auto& f : j["faces"]) {
    std::string bytes;
    if (!f.is_string() || !absl::Base64Unescape(f.get<std::string>(), &bytes)) {
      return Bad(line_number, "a face is not base64");
    }
    if (bytes.size() != static_cast<size_t>(dimension) * sizeof(float)) {
      return Bad(line_number, absl::StrCat("a face has ", bytes.size() / sizeof(float),
                                           " values, the gallery's model makes ", dimension));
    }
    std::vector<float> values(static_cast<size_t>(dimension));
    std::memcpy(values.data(), bytes.data(), bytes.size());
    s.faces.push_back(std::move(values));
  }
  return s;
}

absl::StatusOr<std::vector<std::vector<float>>> ReadGalleryFileFaces(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::string line;
  std::getline(in, line);
  absl::StatusOr<GalleryFileHeader> header = ParseGalleryHeader(line);
  if (!header.ok()) return header.status();
  std::vector<std::vector<float>> faces;
  for (int number = 2; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    absl::StatusOr<GalleryFileSubject> subject =
        ParseGallerySubject(line, header->dimension, number);
    if (!subject.ok()) return subject.status();
    for (std::vector<float>& face : subject->faces) faces.push_back(std::move(face));
  }
  return faces;
}

}  // namespace faceserve::client
