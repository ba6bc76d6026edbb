// The machinery of the configuration schema (private to core/config): a
// Binder per key converts a YAML node into a typed value and knows its
// type for messages and docs; ErrorContext says where a key came from (the
// file's line, or the --set that replaced it). config.cc declares faceserve's
// keys with it; config_overrides.cc applies --set through it.
#ifndef FACESERVE_CORE_CONFIG_CONFIG_BINDERS_H_
#define FACESERVE_CORE_CONFIG_CONFIG_BINDERS_H_

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace faceserve::config_internal {

// ---------------------------------------------------------------------------
// Error context: where a key came from, for messages.

// One `--set` override that replaced the subtree at `path`.
struct OverrideOrigin {
  std::string path;
  std::string text;  // the override as given, "a.b=value"
};

// Knows the final YAML tree and the overrides, so that an error at a key
// path can say "line L, column C" or "from --set a.b=value".
class ErrorContext {
 public:
  ErrorContext(YAML::Node root, std::vector<OverrideOrigin> overrides)
      : root_(std::move(root)), overrides_(std::move(overrides)) {}

  // INVALID_ARGUMENT "<message> (<where>)".
  absl::Status Error(const std::string& path, const std::string& message) const {
    const std::string where = Where(path);
    return absl::InvalidArgumentError(where.empty() ? message
                                                    : absl::StrCat(message, " (", where, ")"));
  }

 private:
  std::string Where(const std::string& path) const {
    for (auto it = overrides_.rbegin(); it != overrides_.rend(); ++it) {
      if (path == it->path || absl::StartsWith(path, it->path + ".")) {
        return absl::StrCat("from --set ", it->text);
      }
    }
    YAML::Node node = Find(path);
    if (node && node.Mark().line >= 0) {
      return absl::StrCat("line ", node.Mark().line + 1, ", column ", node.Mark().column + 1);
    }
    return "";
  }

  // The node at a dotted path, or an undefined node. (Copies, never
  // Node::operator= or reset(): those rebind or throw on missing keys.)
  YAML::Node Find(const std::string& path) const {
    if (path.empty()) return root_;
    return FindIn(root_, absl::StrSplit(path, '.'), 0);
  }
  static YAML::Node FindIn(const YAML::Node& node, const std::vector<std::string>& segs, size_t i) {
    if (i == segs.size()) return node;
    if (node.IsMap()) {
      const YAML::Node child = node[segs[i]];
      if (child) return FindIn(child, segs, i + 1);
    } else if (node.IsSequence()) {
      size_t index = 0;
      if (absl::SimpleAtoi(segs[i], &index) && index < node.size()) {
        return FindIn(node[index], segs, i + 1);
      }
    }
    return YAML::Node(YAML::NodeType::Undefined);
  }

  YAML::Node root_;
  std::vector<OverrideOrigin> overrides_;
};

inline std::string JoinPath(const std::string& path, absl::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

inline std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return absl::StrCat("'", node.Scalar(), "'");
    default:
      return "nothing";
  }
}

// ---------------------------------------------------------------------------
// The schema: one Binder per key, converting a YAML node into a typed value.

enum class Shape { kScalar, kMap, kList };

class Binder {
 public:
  virtual ~Binder() = default;
  virtual Shape shape() const = 0;
  // For messages and docs: "integer >= 1", "map", "list of maps", ...
  virtual std::string type_name() const = 0;
  // Converts `node` (at `path`) into `*out`, which holds the default.
  virtual absl::Status Convert(const YAML::Node& node, const std::string& path,
                               const ErrorContext& ctx, void* out) const = 0;
  // kMap: the binder of a key (nullptr: unknown) and all keys in order.
  virtual const Binder* Field(const std::string& /*key*/) const { return nullptr; }
  virtual std::vector<std::string> Keys() const { return {}; }
  // kList: the binder of the items.
  virtual const Binder* Element() const { return nullptr; }
  // A string scalar (override values for it are taken literally).
  virtual bool is_string() const { return false; }
};

// Scalar parsing, one overload per value type.
inline bool ParseScalar(const YAML::Node& node, std::string* out) {
  if (node.IsNull()) {  // `key:` with nothing: the empty string
    out->clear();
    return true;
  }
  if (!node.IsScalar()) return false;
  *out = node.Scalar();
  return true;
}

inline bool ParseScalar(const YAML::Node& node, bool* out) {
  if (!node.IsScalar()) return false;
  const std::string s = absl::AsciiStrToLower(node.Scalar());
  if (s == "true" || s == "yes" || s == "on") {
    *out = true;
    return true;
  }
  if (s == "false" || s == "no" || s == "off") {
    *out = false;
    return true;
  }
  return false;
}

template <typename Int>
inline bool ParseInt(const YAML::Node& node, Int* out) {
  return node.IsScalar() && absl::SimpleAtoi(node.Scalar(), out);
}
inline bool ParseScalar(const YAML::Node& node, int* out) { return ParseInt(node, out); }
inline bool ParseScalar(const YAML::Node& node, int64_t* out) { return ParseInt(node, out); }

inline bool ParseScalar(const YAML::Node& node, float* out) {
  return node.IsScalar() && absl::SimpleAtof(node.Scalar(), out) && std::isfinite(*out);
}

template <typename T>
std::string BaseTypeName();
template <>
inline std::string BaseTypeName<std::string>() {
  return "string";
}
template <>
inline std::string BaseTypeName<bool>() {
  return "boolean";
}
template <>
inline std::string BaseTypeName<int>() {
  return "integer";
}
template <>
inline std::string BaseTypeName<int64_t>() {
  return "integer";
}
template <>
inline std::string BaseTypeName<float>() {
  return "number";
}

// A string, boolean or number, with an optional check. The check returns ""
// for a valid value, else what is wrong ("must be >= 1").
template <typename T>
class ScalarBinder : public Binder {
 public:
  using Check = std::function<std::string(const T&)>;

  ScalarBinder(std::string range, Check check)
      : range_(std::move(range)), check_(std::move(check)) {}

  Shape shape() const override { return Shape::kScalar; }
  bool is_string() const override { return std::is_same_v<T, std::string>; }
  std::string type_name() const override {
    return range_.empty() ? BaseTypeName<T>() : absl::StrCat(BaseTypeName<T>(), " ", range_);
  }
  absl::Status Convert(const YAML::Node& node, const std::string& path, const ErrorContext& ctx,
                       void* out) const override {
    T value{};
    if (!ParseScalar(node, &value)) {
      const std::string type = BaseTypeName<T>();
      return ctx.Error(path, absl::StrCat(path, ": expected ", type[0] == 'i' ? "an " : "a ", type,
                                          ", got ", Describe(node)));
    }
    if (check_) {
      const std::string problem = check_(value);
      if (!problem.empty()) {
        return ctx.Error(path, absl::StrCat(path, ": ", problem, ", got ", Describe(node)));
      }
    }
    *static_cast<T*>(out) = std::move(value);
    return absl::OkStatus();
  }

 private:
  std::string range_;
  Check check_;
};

// One of a fixed set of names.
template <typename E>
class EnumBinder : public Binder {
 public:
  explicit EnumBinder(std::vector<std::pair<std::string, E>> values) : values_(std::move(values)) {}

  Shape shape() const override { return Shape::kScalar; }
  std::string type_name() const override { return absl::StrCat("one of ", Names()); }
  absl::Status Convert(const YAML::Node& node, const std::string& path, const ErrorContext& ctx,
                       void* out) const override {
    if (node.IsScalar()) {
      for (const auto& [name, value] : values_) {
        if (node.Scalar() == name) {
          *static_cast<E*>(out) = value;
          return absl::OkStatus();
        }
      }
    }
    return ctx.Error(path,
                     absl::StrCat(path, ": expected one of ", Names(), ", got ", Describe(node)));
  }

 private:
  std::string Names() const {
    return absl::StrJoin(values_, ", ", [](std::string* s, const auto& v) { s->append(v.first); });
  }
  std::vector<std::pair<std::string, E>> values_;
};

// A map of known keys onto the members of a struct T. Missing keys keep the
// member's current (default) value; null is an empty map.
template <typename T>
class StructBinder : public Binder {
 public:
  template <typename M>
  StructBinder& Add(std::string key, M T::*member, const Binder* binder) {
    fields_.push_back(FieldEntry{std::move(key), binder, [member](void* obj) -> void* {
                                   return &(static_cast<T*>(obj)->*member);
                                 }});
    return *this;
  }

  Shape shape() const override { return Shape::kMap; }
  std::string type_name() const override { return "map"; }
  const Binder* Field(const std::string& key) const override {
    for (const FieldEntry& f : fields_) {
      if (f.key == key) return f.binder;
    }
    return nullptr;
  }
  std::vector<std::string> Keys() const override {
    std::vector<std::string> keys;
    for (const FieldEntry& f : fields_) keys.push_back(f.key);
    return keys;
  }

  absl::Status Convert(const YAML::Node& node, const std::string& path, const ErrorContext& ctx,
                       void* out) const override {
    if (node.IsNull()) return absl::OkStatus();
    if (!node.IsMap()) {
      return ctx.Error(path, absl::StrCat(path.empty() ? "top level" : path,
                                          ": expected a map, got ", Describe(node)));
    }
    std::set<std::string> seen;
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) {
        return ctx.Error(path,
                         absl::StrCat(path.empty() ? "top level" : path,
                                      ": keys must be plain names, got ", Describe(kv.first)));
      }
      const std::string& key = kv.first.Scalar();
      const std::string key_path = JoinPath(path, key);
      if (!seen.insert(key).second) {
        return ctx.Error(key_path, absl::StrCat("duplicate key '", key_path, "'"));
      }
      const FieldEntry* field = nullptr;
      for (const FieldEntry& f : fields_) {
        if (f.key == key) field = &f;
      }
      if (field == nullptr) {
        return ctx.Error(key_path, absl::StrCat("unknown key '", key_path,
                                                "' (known: ", absl::StrJoin(Keys(), ", "), ")"));
      }
      absl::Status status = field->binder->Convert(kv.second, key_path, ctx, field->access(out));
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

 private:
  struct FieldEntry {
    std::string key;
    const Binder* binder;
    std::function<void*(void*)> access;
  };
  std::vector<FieldEntry> fields_;
};

// A list of items of one type into std::vector<E>; each item starts from
// E's defaults. Null is an empty list.
template <typename E>
class ListBinder : public Binder {
 public:
  explicit ListBinder(const Binder* element) : element_(element) {}

  Shape shape() const override { return Shape::kList; }
  std::string type_name() const override {
    switch (element_->shape()) {
      case Shape::kMap:
        return "list of maps";
      case Shape::kList:
        return "list of lists";
      case Shape::kScalar:
        break;
    }
    return absl::StrCat("list of ", element_->type_name());
  }
  const Binder* Element() const override { return element_; }

  absl::Status Convert(const YAML::Node& node, const std::string& path, const ErrorContext& ctx,
                       void* out) const override {
    std::vector<E> items;
    if (!node.IsNull()) {
      if (!node.IsSequence()) {
        return ctx.Error(path, absl::StrCat(path, ": expected a list, got ", Describe(node)));
      }
      for (size_t i = 0; i < node.size(); ++i) {
        E item{};
        absl::Status status =
            element_->Convert(node[i], JoinPath(path, std::to_string(i)), ctx, &item);
        if (!status.ok()) return status;
        items.push_back(std::move(item));
      }
    }
    *static_cast<std::vector<E>*>(out) = std::move(items);
    return absl::OkStatus();
  }

 private:
  const Binder* element_;
};

// Range checks.
template <typename T>
ScalarBinder<T>* AtLeast(std::vector<std::unique_ptr<Binder>>* pool, T min) {
  auto* b = new ScalarBinder<T>(absl::StrCat(">= ", min), [min](const T& v) {
    return v >= min ? std::string() : absl::StrCat("must be >= ", min);
  });
  pool->emplace_back(b);
  return b;
}

inline ScalarBinder<float>* InRange(std::vector<std::unique_ptr<Binder>>* pool, float lo,
                                    bool lo_open, float hi, bool hi_open) {
  const std::string range =
      absl::StrCat("in ", lo_open ? "(" : "[", lo, ", ", hi, hi_open ? ")" : "]");
  auto* b = new ScalarBinder<float>(range, [=](const float& v) {
    const bool ok = (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    return ok ? std::string() : absl::StrCat("must be ", range);
  });
  pool->emplace_back(b);
  return b;
}

// The schema of every faceserve key (config.cc).
const Binder& RootSchema();

}  // namespace faceserve::config_internal

#endif  // FACESERVE_CORE_CONFIG_CONFIG_BINDERS_H_
