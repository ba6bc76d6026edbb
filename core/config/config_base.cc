#include "core/config/config_base.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace faceserve {
namespace {

constexpr int kMaxDepth = 8;

// Whether `node` is a non-empty list of maps that all have a scalar `name`.
bool IsNamedList(const YAML::Node& node) {
  if (!node.IsSequence() || node.size() == 0) return false;
  for (const YAML::Node& item : node) {
    if (!item.IsMap() || !item["name"] || !item["name"].IsScalar()) return false;
  }
  return true;
}

absl::StatusOr<YAML::Node> LoadFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat("config file not found: ", path));
  }
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat("config path is a directory: ", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read config file: ", path));
  std::ostringstream text;
  text << in.rdbuf();
  try {
    YAML::Node root = YAML::Load(text.str());
    if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
    return root;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": invalid YAML at line ", e.mark.line + 1,
                                                   ", column ", e.mark.column + 1, ": ", e.msg));
  }
}

absl::StatusOr<YAML::Node> Load(const std::string& path, std::vector<std::string>* chain) {
  const std::string canonical = std::filesystem::weakly_canonical(path).string();
  for (const std::string& seen : *chain) {
    if (seen == canonical) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": base: a cycle back to ", seen));
    }
  }
  if (static_cast<int>(chain->size()) >= kMaxDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": base: more than ", kMaxDepth, " files deep"));
  }
  chain->push_back(canonical);
  absl::StatusOr<YAML::Node> root = LoadFile(path);
  if (!root.ok() || !root->IsMap() || !(*root)["base"]) return root;
  const YAML::Node base_key = (*root)["base"];
  if (!base_key.IsScalar() || base_key.Scalar().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": base: expected the path of another configuration file (line ",
                     base_key.Mark().line + 1, ")"));
  }
  std::filesystem::path base_path(base_key.Scalar());
  if (base_path.is_relative()) base_path = std::filesystem::path(path).parent_path() / base_path;
  absl::StatusOr<YAML::Node> base = Load(base_path.string(), chain);
  if (!base.ok()) {
    return absl::Status(base.status().code(),
                        absl::StrCat(path, ": base: ", base.status().message()));
  }
  YAML::Node variant = YAML::Clone(*root);
  variant.remove("base");
  return MergeYaml(*base, variant);
}

}  // namespace

YAML::Node MergeYaml(const YAML::Node& base, const YAML::Node& variant) {
  if (base.IsMap() && variant.IsMap()) {
    YAML::Node out = YAML::Clone(base);
    for (const auto& kv : variant) {
      const std::string key = kv.first.Scalar();
      out[key] = out[key] ? MergeYaml(out[key], kv.second) : YAML::Clone(kv.second);
    }
    return out;
  }
  if (IsNamedList(base) && IsNamedList(variant)) {
    YAML::Node out = YAML::Clone(base);
    for (const YAML::Node& item : variant) {
      const std::string name = item["name"].Scalar();
      bool merged = false;
      for (size_t i = 0; i < out.size(); ++i) {
        if (out[i]["name"].Scalar() == name) {
          out[i] = MergeYaml(out[i], item);
          merged = true;
          break;
        }
      }
      if (!merged) out.push_back(YAML::Clone(item));
    }
    return out;
  }
  return YAML::Clone(variant);
}

absl::StatusOr<YAML::Node> LoadYamlWithBase(const std::string& path) {
  std::vector<std::string> chain;
  return Load(path, &chain);
}

}  // namespace faceserve
