// `base:`: a configuration file that states only how it differs from another.
//
//   base: default.yaml          # relative to this file's folder
//   device: {device: cuda}
//   predictors:
//     - name: embedding          # merged into default.yaml's "embedding"
//       batching: {max_batch_size: 64}
//
// The merge, applied before --set overrides: maps merge key by key (this
// file wins); a list whose items are all maps with a `name` merges item by
// item by name (new names are appended in this file's order); any other list
// or scalar replaces the base's. Bases may have bases (at most 8 deep; a
// cycle is an error). Private to core/config.
#ifndef FACESERVE_CORE_CONFIG_CONFIG_BASE_H_
#define FACESERVE_CORE_CONFIG_CONFIG_BASE_H_

#include <string>

#include <yaml-cpp/yaml.h>

#include "absl/status/statusor.h"

namespace faceserve {

// The YAML of the file at `path` with its bases merged in, without the
// `base` key. NOT_FOUND for a missing file (this one or a base);
// INVALID_ARGUMENT for YAML errors (naming the file and line) and cycles.
absl::StatusOr<YAML::Node> LoadYamlWithBase(const std::string& path);

// `variant` merged over `base` by the rules above; neither is modified.
YAML::Node MergeYaml(const YAML::Node& base, const YAML::Node& variant);

}  // namespace faceserve

#endif  // FACESERVE_CORE_CONFIG_CONFIG_BASE_H_
