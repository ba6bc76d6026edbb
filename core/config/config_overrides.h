// --set overrides ("a.b.0.c=value") applied to the YAML tree, each path
// checked against the schema before it touches the tree. Private to
// core/config.
#ifndef FACESERVE_CORE_CONFIG_CONFIG_OVERRIDES_H_
#define FACESERVE_CORE_CONFIG_CONFIG_OVERRIDES_H_

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/config/config_binders.h"

namespace faceserve::config_internal {

// Applies one override to `root`, recording where it landed in `origins`
// (for messages). INVALID_ARGUMENT naming the override when its syntax,
// path or value is wrong.
absl::Status ApplyOverride(YAML::Node root, const std::string& text,
                           std::vector<OverrideOrigin>* origins);

}  // namespace faceserve::config_internal

#endif  // FACESERVE_CORE_CONFIG_CONFIG_OVERRIDES_H_
