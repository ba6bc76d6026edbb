#include "core/auth/api_keys_file.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/auth/api_key.h"

namespace faceserve {
namespace {

absl::Status EntryError(const std::string& source, size_t index, const std::string& what) {
  return absl::InvalidArgumentError(
      absl::StrCat(source, ": entry ", index, ": ", what));
}

// A list of non-empty strings under `field` of `entry`.
absl::StatusOr<std::vector<std::string>> StringList(const YAML::Node& entry, const char* field,
                                                    const std::string& source, size_t index,
                                                    bool may_be_empty) {
  const YAML::Node list = entry[field];
  if (!list || !list.IsSequence() || (list.size() == 0 && !may_be_empty)) {
    return EntryError(source, index,
                      absl::StrCat(field, may_be_empty ? ": a list is required"
                                                       : ": a non-empty list is required"));
  }
  std::vector<std::string> out;
  for (const YAML::Node& item : list) {
    if (!item.IsScalar() || item.Scalar().empty()) {
      return EntryError(source, index, absl::StrCat(field, ": every item must be a non-empty string"));
    }
    out.push_back(item.Scalar());
  }
  return out;
}

absl::StatusOr<ApiKeyRecord> ParseEntry(const YAML::Node& entry, const std::string& source,
                                        size_t index) {
  if (!entry.IsMap()) return EntryError(source, index, "expected a map (id, name, sha256, ...)");
  static const std::set<std::string> kFields = {"id", "name", "sha256", "scopes", "galleries"};
  for (const auto& field : entry) {
    if (kFields.count(field.first.Scalar()) == 0) {
      return EntryError(source, index, absl::StrCat("unknown field '", field.first.Scalar(),
                                                    "' (fields: id, name, sha256, scopes, galleries)"));
    }
  }
  ApiKeyRecord key;
  key.source = ApiKeyRecord::Source::kFile;
  const YAML::Node id = entry["id"], name = entry["name"], sha = entry["sha256"];
  if (!id || !id.IsScalar() || !IsApiKeyId(id.Scalar())) {
    return EntryError(source, index, "id: 16 lower-case hex digits are required");
  }
  key.id = id.Scalar();
  if (!name || !name.IsScalar() || name.Scalar().empty()) {
    return EntryError(source, index, "name: a non-empty string is required");
  }
  key.name = name.Scalar();
  if (!sha || !sha.IsScalar() || !IsSha256Hex(sha.Scalar())) {
    return EntryError(source, index,
                      "sha256: 64 lower-case hex digits are required (SHA-256 of the whole key)");
  }
  key.sha256_hex = sha.Scalar();
  absl::StatusOr<std::vector<std::string>> scopes =
      StringList(entry, "scopes", source, index, /*may_be_empty=*/false);
  if (!scopes.ok()) return scopes.status();
  for (const std::string& s : *scopes) {
    std::optional<Scope> scope = ScopeFromName(s);
    if (!scope.has_value()) {
      return EntryError(source, index, absl::StrCat("scopes: unknown scope '", s,
                                                    "' (analyze, identify, enroll, admin)"));
    }
    key.scopes.push_back(*scope);
  }
  if (entry["galleries"]) {  // optional: none for a key of FaceService alone
    absl::StatusOr<std::vector<std::string>> galleries =
        StringList(entry, "galleries", source, index, /*may_be_empty=*/true);
    if (!galleries.ok()) return galleries.status();
    key.galleries = *std::move(galleries);
  }
  return key;
}

}  // namespace

absl::StatusOr<std::vector<ApiKeyRecord>> ParseApiKeysFile(const std::string& text,
                                                           const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": not YAML: ", e.what()));
  }
  std::vector<ApiKeyRecord> keys;
  if (root.IsNull()) return keys;  // empty: no keys
  if (!root.IsSequence()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": expected a list of keys (- id: ..., name: ..., sha256: ...)"));
  }
  std::set<std::string> ids;
  for (size_t i = 0; i < root.size(); ++i) {
    absl::StatusOr<ApiKeyRecord> key = ParseEntry(root[i], source, i);
    if (!key.ok()) return key.status();
    if (!ids.insert(key->id).second) {
      return EntryError(source, i, absl::StrCat("id ", key->id, " is listed twice"));
    }
    keys.push_back(*std::move(key));
  }
  return keys;
}

absl::StatusOr<std::string> ReadApiKeysFileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad()) {
    return absl::NotFoundError(absl::StrCat("auth.keys_file '", path, "' cannot be read"));
  }
  return text.str();
}

absl::StatusOr<std::vector<ApiKeyRecord>> ReadApiKeysFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadApiKeysFileText(path);
  if (!text.ok()) return text.status();
  return ParseApiKeysFile(*text, absl::StrCat("auth.keys_file '", path, "'"));
}

std::string FormatApiKeysFileEntry(const ApiKeyRecord& key) {
  // Double-quoted YAML scalars: a name or gallery may hold ':' or '#'.
  auto quoted = [](const std::string& s) {
    YAML::Emitter out;
    out << YAML::DoubleQuoted << s;
    return std::string(out.c_str());
  };
  std::vector<std::string> scopes, galleries;
  for (Scope s : key.scopes) scopes.emplace_back(ScopeName(s));
  for (const std::string& g : key.galleries) galleries.push_back(quoted(g));
  return absl::StrCat("- id: ", key.id, "\n  name: ", quoted(key.name),
                      "\n  sha256: ", key.sha256_hex, "\n  scopes: [",
                      absl::StrJoin(scopes, ", "), "]\n  galleries: [",
                      absl::StrJoin(galleries, ", "), "]\n");
}

}  // namespace faceserve
