#include "core/config/config_overrides.h"

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace faceserve::config_internal {
namespace {

// ---------------------------------------------------------------------------
// Overrides: "a.b.0.c=value" applied to the YAML tree.

// Merges map `value` into map `dst`: maps merge key by key, anything else
// replaces. Records the paths it replaced.
void MergeInto(YAML::Node dst, const YAML::Node& value, const std::string& path,
               const std::string& text, std::vector<OverrideOrigin>* origins) {
  for (const auto& kv : value) {
    const std::string key = kv.first.Scalar();
    const std::string key_path = JoinPath(path, key);
    YAML::Node existing = dst[key];
    if (existing && existing.IsMap() && kv.second.IsMap()) {
      MergeInto(existing, kv.second, key_path, text, origins);
    } else {
      dst[key] = kv.second;
      origins->push_back({key_path, text});
    }
  }
}

absl::Status OverrideError(const std::string& text, const std::string& message) {
  return absl::InvalidArgumentError(absl::StrCat("--set ", text, ": ", message));
}

// Checks `segments` against the schema alone; returns the binder of the key
// they name.
absl::StatusOr<const Binder*> SchemaAt(const std::vector<std::string>& segments,
                                       const std::string& text) {
  const Binder* binder = &RootSchema();
  std::string path;
  for (const std::string& seg : segments) {
    const std::string parent = path;
    path = JoinPath(path, seg);
    switch (binder->shape()) {
      case Shape::kMap:
        if (binder->Field(seg) == nullptr) {
          return OverrideError(text, absl::StrCat("unknown key '", path, "' (known: ",
                                                  absl::StrJoin(binder->Keys(), ", "), ")"));
        }
        binder = binder->Field(seg);
        break;
      case Shape::kList:
        if (seg.find_first_not_of("0123456789") != std::string::npos) {
          return OverrideError(text, absl::StrCat("'", path, "': '", seg, "' is not a list index (",
                                                  parent, " is a list)"));
        }
        binder = binder->Element();
        break;
      case Shape::kScalar:
        return OverrideError(text, absl::StrCat("unknown key '", path, "' (", parent, " is a ",
                                                binder->type_name(), ")"));
    }
  }
  return binder;
}

// The value of an override as a YAML node. YAML syntax (scalar or flow),
// except that for a string key an unquoted value is taken literally, so
// that server.listen=[::]:50051 needs no quotes.
absl::StatusOr<YAML::Node> OverrideValue(const std::string& value_text, const Binder& binder,
                                         const std::string& text) {
  const bool quoted = value_text.size() >= 2 &&
                      (value_text.front() == '"' || value_text.front() == '\'') &&
                      value_text.back() == value_text.front();
  if (value_text.empty() || (binder.is_string() && !quoted)) {
    return YAML::Node(value_text);
  }
  try {
    return YAML::Load(value_text);
  } catch (const YAML::Exception& e) {
    return OverrideError(text, absl::StrCat("the value is not valid YAML (column ",
                                            e.mark.column + 1, ": ", e.msg, ")"));
  }
}

YAML::Node EmptyContainer(const Binder& binder) {
  return YAML::Node(binder.shape() == Shape::kList ? YAML::NodeType::Sequence
                                                   : YAML::NodeType::Map);
}

// Puts `value` at `segments[i..]` below `container` (a map or list whose
// schema is `schema`): creates missing maps and lists on the way, merges a
// map value into an existing map, replaces anything else. The path was
// checked against the schema by SchemaAt.
absl::Status SetAt(YAML::Node container, const Binder& schema,
                   const std::vector<std::string>& segments, size_t i, const YAML::Node& value,
                   const std::string& text, std::vector<OverrideOrigin>* origins) {
  const std::string& seg = segments[i];
  std::string parent;
  for (size_t j = 0; j < i; ++j) parent = JoinPath(parent, segments[j]);
  const std::string path = JoinPath(parent, seg);
  const bool last = i + 1 == segments.size();

  if (schema.shape() == Shape::kMap) {
    const Binder& child_schema = *schema.Field(seg);
    YAML::Node existing = container[seg];
    if (last) {
      if (existing && existing.IsMap() && value.IsMap()) {
        for (const auto& kv : value) {
          if (!kv.first.IsScalar()) return OverrideError(text, "map keys must be plain names");
        }
        MergeInto(existing, value, path, text, origins);
      } else {
        container[seg] = value;
        origins->push_back({path, text});
      }
      return absl::OkStatus();
    }
    if (!existing || existing.IsNull()) container[seg] = EmptyContainer(child_schema);
    YAML::Node child = container[seg];
    if (child_schema.shape() == Shape::kMap ? !child.IsMap() : !child.IsSequence()) {
      return OverrideError(text, absl::StrCat(path, " is ", Describe(child), ", expected a ",
                                              child_schema.type_name()));
    }
    return SetAt(child, child_schema, segments, i + 1, value, text, origins);
  }

  // A list (SchemaAt let nothing else through).
  const Binder& child_schema = *schema.Element();
  size_t index = 0;
  if (!absl::SimpleAtoi(seg, &index) || index > container.size()) {
    return OverrideError(
        text, absl::StrCat("'", path, "': index out of range (", parent, " has ", container.size(),
                           " items; index ", container.size(), " appends one)"));
  }
  if (index == container.size()) {
    container.push_back(last ? value : EmptyContainer(child_schema));
    if (last) {
      origins->push_back({path, text});
      return absl::OkStatus();
    }
  }
  if (last) {
    YAML::Node existing = container[index];
    if (existing.IsMap() && value.IsMap()) {
      MergeInto(existing, value, path, text, origins);
    } else {
      container[index] = value;
      origins->push_back({path, text});
    }
    return absl::OkStatus();
  }
  if (container[index].IsNull()) container[index] = EmptyContainer(child_schema);
  YAML::Node child = container[index];
  if (child_schema.shape() == Shape::kMap ? !child.IsMap() : !child.IsSequence()) {
    return OverrideError(text, absl::StrCat(path, " is ", Describe(child), ", expected a ",
                                            child_schema.type_name()));
  }
  return SetAt(child, child_schema, segments, i + 1, value, text, origins);
}

}  // namespace

absl::Status ApplyOverride(YAML::Node root, const std::string& text,
                           std::vector<OverrideOrigin>* origins) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos) {
    return OverrideError(text, "expected key=value, e.g. server.listen=0.0.0.0:50051");
  }
  const std::string key(absl::StripAsciiWhitespace(text.substr(0, eq)));
  const std::string value_text(absl::StripAsciiWhitespace(text.substr(eq + 1)));
  const std::vector<std::string> segments = absl::StrSplit(key, '.');
  for (const std::string& seg : segments) {
    if (seg.empty()) {
      return OverrideError(text, absl::StrCat("empty key segment in '", key, "'"));
    }
  }
  absl::StatusOr<const Binder*> leaf = SchemaAt(segments, text);
  if (!leaf.ok()) return leaf.status();
  absl::StatusOr<YAML::Node> value = OverrideValue(value_text, **leaf, text);
  if (!value.ok()) return value.status();
  return SetAt(root, RootSchema(), segments, 0, *value, text, origins);
}

}  // namespace faceserve::config_internal
