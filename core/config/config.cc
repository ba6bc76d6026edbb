// LoadConfig / ParseConfig: YAML text -> overrides -> typed Config.
//
// The schema is declared once (BuildSchema below): every key with its type,
// its valid range and the struct member it fills. The same schema
//  * checks the path of every `--set` override before it touches the tree,
//  * converts the tree into Config, rejecting unknown keys and bad values,
//  * lists the keys for the documentation (FormatConfigKeys).
// Checks that span several keys (unique names, the default embedding
// predictor) run after the conversion. yaml-cpp is used only here and in
// config_base (files with `base:`); every YAML::Exception becomes a status.
#include "core/config/config.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <sstream>
#include <system_error>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "core/config/config_base.h"

namespace faceserve {
namespace {

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
    return absl::InvalidArgumentError(
        where.empty() ? message : absl::StrCat(message, " (", where, ")"));
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
      return absl::StrCat("line ", node.Mark().line + 1, ", column ",
                          node.Mark().column + 1);
    }
    return "";
  }

  // The node at a dotted path, or an undefined node. (Copies, never
  // Node::operator= or reset(): those rebind or throw on missing keys.)
  YAML::Node Find(const std::string& path) const {
    if (path.empty()) return root_;
    return FindIn(root_, absl::StrSplit(path, '.'), 0);
  }
  static YAML::Node FindIn(const YAML::Node& node, const std::vector<std::string>& segs,
                           size_t i) {
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

std::string JoinPath(const std::string& path, absl::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

std::string Describe(const YAML::Node& node) {
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
bool ParseScalar(const YAML::Node& node, std::string* out) {
  if (node.IsNull()) {  // `key:` with nothing: the empty string
    out->clear();
    return true;
  }
  if (!node.IsScalar()) return false;
  *out = node.Scalar();
  return true;
}

bool ParseScalar(const YAML::Node& node, bool* out) {
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
bool ParseInt(const YAML::Node& node, Int* out) {
  return node.IsScalar() && absl::SimpleAtoi(node.Scalar(), out);
}
bool ParseScalar(const YAML::Node& node, int* out) { return ParseInt(node, out); }
bool ParseScalar(const YAML::Node& node, int64_t* out) { return ParseInt(node, out); }

bool ParseScalar(const YAML::Node& node, float* out) {
  return node.IsScalar() && absl::SimpleAtof(node.Scalar(), out) && std::isfinite(*out);
}

template <typename T>
std::string BaseTypeName();
template <>
std::string BaseTypeName<std::string>() { return "string"; }
template <>
std::string BaseTypeName<bool>() { return "boolean"; }
template <>
std::string BaseTypeName<int>() { return "integer"; }
template <>
std::string BaseTypeName<int64_t>() { return "integer"; }
template <>
std::string BaseTypeName<float>() { return "number"; }

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
    return range_.empty() ? BaseTypeName<T>()
                          : absl::StrCat(BaseTypeName<T>(), " ", range_);
  }
  absl::Status Convert(const YAML::Node& node, const std::string& path,
                       const ErrorContext& ctx, void* out) const override {
    T value{};
    if (!ParseScalar(node, &value)) {
      const std::string type = BaseTypeName<T>();
      return ctx.Error(path, absl::StrCat(path, ": expected ", type[0] == 'i' ? "an " : "a ",
                                          type,
                                          ", got ", Describe(node)));
    }
    if (check_) {
      const std::string problem = check_(value);
      if (!problem.empty()) {
        return ctx.Error(path, absl::StrCat(path, ": ", problem, ", got ",
                                            Describe(node)));
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
  explicit EnumBinder(std::vector<std::pair<std::string, E>> values)
      : values_(std::move(values)) {}

  Shape shape() const override { return Shape::kScalar; }
  std::string type_name() const override { return absl::StrCat("one of ", Names()); }
  absl::Status Convert(const YAML::Node& node, const std::string& path,
                       const ErrorContext& ctx, void* out) const override {
    if (node.IsScalar()) {
      for (const auto& [name, value] : values_) {
        if (node.Scalar() == name) {
          *static_cast<E*>(out) = value;
          return absl::OkStatus();
        }
      }
    }
    return ctx.Error(path, absl::StrCat(path, ": expected one of ", Names(),
                                        ", got ", Describe(node)));
  }

 private:
  std::string Names() const {
    return absl::StrJoin(values_, ", ", [](std::string* s, const auto& v) {
      s->append(v.first);
    });
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

  absl::Status Convert(const YAML::Node& node, const std::string& path,
                       const ErrorContext& ctx, void* out) const override {
    if (node.IsNull()) return absl::OkStatus();
    if (!node.IsMap()) {
      return ctx.Error(path, absl::StrCat(path.empty() ? "top level" : path,
                                          ": expected a map, got ", Describe(node)));
    }
    std::set<std::string> seen;
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) {
        return ctx.Error(path, absl::StrCat(path.empty() ? "top level" : path,
                                            ": keys must be plain names, got ",
                                            Describe(kv.first)));
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
        return ctx.Error(key_path, absl::StrCat("unknown key '", key_path, "' (known: ",
                                                absl::StrJoin(Keys(), ", "), ")"));
      }
      absl::Status status = field->binder->Convert(kv.second, key_path, ctx,
                                                   field->access(out));
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

  absl::Status Convert(const YAML::Node& node, const std::string& path,
                       const ErrorContext& ctx, void* out) const override {
    std::vector<E> items;
    if (!node.IsNull()) {
      if (!node.IsSequence()) {
        return ctx.Error(path, absl::StrCat(path, ": expected a list, got ",
                                            Describe(node)));
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

ScalarBinder<float>* InRange(std::vector<std::unique_ptr<Binder>>* pool, float lo,
                             bool lo_open, float hi, bool hi_open) {
  const std::string range = absl::StrCat("in ", lo_open ? "(" : "[", lo, ", ", hi,
                                         hi_open ? ")" : "]");
  auto* b = new ScalarBinder<float>(range, [=](const float& v) {
    const bool ok = (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    return ok ? std::string() : absl::StrCat("must be ", range);
  });
  pool->emplace_back(b);
  return b;
}

// The whole schema; built once, never destroyed.
class Schema {
 public:
  Schema() { Build(); }
  const Binder& root() const { return *root_; }

 private:
  template <typename B>
  B* Own(B* binder) {
    pool_.emplace_back(binder);
    return binder;
  }

  void Build() {
    auto* str = Own(new ScalarBinder<std::string>("", nullptr));
    auto* nonempty_str = Own(new ScalarBinder<std::string>(
        "(non-empty)",
        [](const std::string& v) { return v.empty() ? "must not be empty" : ""; }));
    auto* boolean = Own(new ScalarBinder<bool>("", nullptr));
    auto* any_float = Own(new ScalarBinder<float>("", nullptr));
    auto* device = Own(new ScalarBinder<std::string>(
        "(auto, cpu, cuda or cuda:N)", [](const std::string& v) -> std::string {
          int index = 0;
          if (v == "auto" || v == "cpu" || v == "cuda") return "";
          if (absl::StartsWith(v, "cuda:") && v.size() > 5 &&
              absl::SimpleAtoi(v.substr(5), &index) && index >= 0 &&
              v.find_first_not_of("0123456789", 5) == std::string::npos) {
            return "";
          }
          return "expected auto, cpu, cuda or cuda:N";
        }));
    auto* str_list = Own(new ListBinder<std::string>(nonempty_str));

    auto* batching = Own(new StructBinder<BatchingOptions>());
    batching->Add("max_batch_size", &BatchingOptions::max_batch_size, AtLeast(&pool_, 1))
        .Add("max_queue_delay_us", &BatchingOptions::max_queue_delay_us,
             AtLeast<int64_t>(&pool_, 0))
        .Add("max_queue_size", &BatchingOptions::max_queue_size, AtLeast(&pool_, 1))
        .Add("num_workers", &BatchingOptions::num_workers, AtLeast(&pool_, 1));

    auto* tls = Own(new StructBinder<TlsConfig>());
    tls->Add("cert_file", &TlsConfig::cert_file, str)
        .Add("key_file", &TlsConfig::key_file, str)
        .Add("client_ca_file", &TlsConfig::client_ca_file, str);

    auto* server = Own(new StructBinder<ServerConfig>());
    server->Add("listen", &ServerConfig::listen, nonempty_str)
        .Add("max_message_bytes", &ServerConfig::max_message_bytes,
             AtLeast<int64_t>(&pool_, 1))
        .Add("max_concurrent_calls", &ServerConfig::max_concurrent_calls,
             AtLeast(&pool_, 1))
        .Add("request_threads", &ServerConfig::request_threads, AtLeast(&pool_, 1))
        .Add("default_deadline_ms", &ServerConfig::default_deadline_ms,
             AtLeast<int64_t>(&pool_, 1))
        .Add("shutdown_grace_ms", &ServerConfig::shutdown_grace_ms,
             AtLeast<int64_t>(&pool_, 0))
        .Add("tls", &ServerConfig::tls, tls);

    auto* metrics = Own(new StructBinder<MetricsConfig>());
    metrics->Add("listen", &MetricsConfig::listen, str);

    auto* reader = Own(new StructBinder<ReaderConfig>());
    reader->Add("max_bytes", &ReaderConfig::max_bytes, AtLeast<int64_t>(&pool_, 1))
        .Add("max_pixels", &ReaderConfig::max_pixels, AtLeast<int64_t>(&pool_, 1));

    auto* dev = Own(new StructBinder<DeviceConfig>());
    dev->Add("device", &DeviceConfig::device, device)
        .Add("fp16", &DeviceConfig::fp16, boolean)
        .Add("intra_op_threads", &DeviceConfig::intra_op_threads, AtLeast(&pool_, 0))
        .Add("pin_cpu_passes", &DeviceConfig::pin_cpu_passes, boolean)
        .Add("preheat", &DeviceConfig::preheat, boolean)
        .Add("optimize_for_inference", &DeviceConfig::optimize_for_inference, boolean);

    auto* zoom_out = Own(new StructBinder<ZoomOutConfig>());
    zoom_out->Add("trigger_width", &ZoomOutConfig::trigger_width, InRange(&pool_, 0, false, 1, false))
        .Add("canvas_scale", &ZoomOutConfig::canvas_scale, InRange(&pool_, 1, false, 10, false));

    auto* detector = Own(new StructBinder<DetectorConfig>());
    detector->Add("name", &DetectorConfig::name, nonempty_str)
        .Add("model", &DetectorConfig::model, nonempty_str)
        .Add("min_score", &DetectorConfig::min_score, InRange(&pool_, 0, false, 1, false))
        .Add("nms_iou", &DetectorConfig::nms_iou, InRange(&pool_, 0, true, 1, false))
        .Add("max_faces", &DetectorConfig::max_faces, AtLeast(&pool_, 1))
        .Add("zoom_out", &DetectorConfig::zoom_out, zoom_out)
        .Add("batching", &DetectorConfig::batching, batching);

    auto* crop = Own(new StructBinder<CropConfig>());
    crop->Add("method", &CropConfig::method,
              Own(new EnumBinder<CropConfig::Method>(
                  {{"box", CropConfig::Method::kBox},
                   {"similarity", CropConfig::Method::kSimilarity},
                   {"shifted_box", CropConfig::Method::kShiftedBox},
                   {"square_box", CropConfig::Method::kSquareBox}})))
        .Add("box", &CropConfig::box,
             Own(new EnumBinder<CropConfig::BoxSource>(
                 {{"detection", CropConfig::BoxSource::kDetection},
                  {"landmarks", CropConfig::BoxSource::kLandmarks},
                  {"landmarks_dlib", CropConfig::BoxSource::kLandmarksDlib}})))
        .Add("scale", &CropConfig::scale, InRange(&pool_, 0, true, 100, false))
        .Add("padding", &CropConfig::padding, InRange(&pool_, 0, false, 10, false))
        .Add("size", &CropConfig::size, AtLeast(&pool_, 0));

    auto* head = Own(new StructBinder<HeadConfig>());
    head->Add("name", &HeadConfig::name, nonempty_str)
        .Add("output", &HeadConfig::output, AtLeast(&pool_, 0))
        .Add("kind", &HeadConfig::kind,
             Own(new EnumBinder<HeadKind>({{"classification", HeadKind::kClassification},
                                           {"multi_label", HeadKind::kMultiLabel},
                                           {"regression", HeadKind::kRegression},
                                           {"embedding", HeadKind::kEmbedding},
                                           {"landmarks", HeadKind::kLandmarks},
                                           {"landmarks_3d", HeadKind::kLandmarks3d}})))
        .Add("labels", &HeadConfig::labels, str_list)
        .Add("apply_softmax", &HeadConfig::apply_softmax, boolean)
        .Add("threshold", &HeadConfig::threshold, InRange(&pool_, 0, false, 1, false))
        .Add("value_names", &HeadConfig::value_names, str_list)
        .Add("value_scale", &HeadConfig::value_scale, any_float)
        .Add("value_offset", &HeadConfig::value_offset, any_float)
        .Add("units", &HeadConfig::units,
             Own(new EnumBinder<HeadConfig::Units>(
                 {{"normalized", HeadConfig::Units::kNormalized},
                  {"crop_pixels", HeadConfig::Units::kCropPixels}})));

    auto* predictor = Own(new StructBinder<PredictorConfig>());
    predictor->Add("name", &PredictorConfig::name, nonempty_str)
        .Add("model", &PredictorConfig::model, nonempty_str)
        .Add("crop", &PredictorConfig::crop, crop)
        .Add("heads", &PredictorConfig::heads, Own(new ListBinder<HeadConfig>(head)))
        .Add("verify_threshold", &PredictorConfig::verify_threshold,
             InRange(&pool_, -1, false, 1, false))
        .Add("batching", &PredictorConfig::batching, batching);

    auto* utilizers = Own(new StructBinder<UtilizersConfig>());
    utilizers->Add("head_pose", &UtilizersConfig::head_pose, boolean);

    auto* root = Own(new StructBinder<Config>());
    root->Add("server", &Config::server, server)
        .Add("metrics", &Config::metrics, metrics)
        .Add("reader", &Config::reader, reader)
        .Add("device", &Config::device, dev)
        .Add("models_dir", &Config::models_dir, nonempty_str)
        .Add("detector", &Config::detector, detector)
        .Add("predictors", &Config::predictors,
             Own(new ListBinder<PredictorConfig>(predictor)))
        .Add("default_embedding_predictor", &Config::default_embedding_predictor, str)
        .Add("utilizers", &Config::utilizers, utilizers);
    root_ = root;
  }

  std::vector<std::unique_ptr<Binder>> pool_;
  const Binder* root_ = nullptr;
};

const Binder& RootSchema() {
  static const Schema* const schema = new Schema();
  return schema->root();
}

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
          return OverrideError(
              text, absl::StrCat("unknown key '", path, "' (known: ",
                                 absl::StrJoin(binder->Keys(), ", "), ")"));
        }
        binder = binder->Field(seg);
        break;
      case Shape::kList:
        if (seg.find_first_not_of("0123456789") != std::string::npos) {
          return OverrideError(text, absl::StrCat("'", path, "': '", seg,
                                                  "' is not a list index (", parent,
                                                  " is a list)"));
        }
        binder = binder->Element();
        break;
      case Shape::kScalar:
        return OverrideError(text, absl::StrCat("unknown key '", path, "' (", parent,
                                                " is a ", binder->type_name(), ")"));
    }
  }
  return binder;
}

// The value of an override as a YAML node. YAML syntax (scalar or flow),
// except that for a string key an unquoted value is taken literally, so
// that server.listen=[::]:50051 needs no quotes.
absl::StatusOr<YAML::Node> OverrideValue(const std::string& value_text,
                                         const Binder& binder, const std::string& text) {
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
                   const std::vector<std::string>& segments, size_t i,
                   const YAML::Node& value, const std::string& text,
                   std::vector<OverrideOrigin>* origins) {
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
      return OverrideError(text, absl::StrCat(path, " is ", Describe(child),
                                              ", expected a ", child_schema.type_name()));
    }
    return SetAt(child, child_schema, segments, i + 1, value, text, origins);
  }

  // A list (SchemaAt let nothing else through).
  const Binder& child_schema = *schema.Element();
  size_t index = 0;
  if (!absl::SimpleAtoi(seg, &index) || index > container.size()) {
    return OverrideError(text, absl::StrCat("'", path, "': index out of range (", parent,
                                            " has ", container.size(), " items; index ",
                                            container.size(), " appends one)"));
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
    return OverrideError(text, absl::StrCat(path, " is ", Describe(child),
                                            ", expected a ", child_schema.type_name()));
  }
  return SetAt(child, child_schema, segments, i + 1, value, text, origins);
}

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

// ---------------------------------------------------------------------------
// Checks across keys.

bool HasEmbeddingHead(const PredictorConfig& p) {
  for (const HeadConfig& h : p.heads) {
    if (h.kind == HeadKind::kEmbedding) return true;
  }
  return false;
}

absl::Status ValidateAcrossKeys(const Config& config, const ErrorContext& ctx) {
  std::map<std::string, size_t> predictor_index;
  for (size_t i = 0; i < config.predictors.size(); ++i) {
    const PredictorConfig& p = config.predictors[i];
    const std::string path = absl::StrCat("predictors.", i);
    if (p.name.empty()) {
      return ctx.Error(path, absl::StrCat(path, ".name: missing (every predictor needs a name)"));
    }
    if (p.model.empty()) {
      return ctx.Error(path, absl::StrCat(path, ".model: missing (predictor '", p.name,
                                          "' needs a model file)"));
    }
    auto [it, inserted] = predictor_index.emplace(p.name, i);
    if (!inserted) {
      return ctx.Error(JoinPath(path, "name"),
                       absl::StrCat(path, ".name: duplicate predictor name '", p.name,
                                    "' (also predictors.", it->second, ".name)"));
    }
    if (p.heads.empty()) {
      return ctx.Error(path, absl::StrCat(path, ".heads: predictor '", p.name,
                                          "' needs at least one head"));
    }
    std::map<std::string, size_t> head_index;
    for (size_t j = 0; j < p.heads.size(); ++j) {
      const HeadConfig& h = p.heads[j];
      const std::string head_path = absl::StrCat(path, ".heads.", j);
      if (h.name.empty()) {
        return ctx.Error(head_path, absl::StrCat(head_path, ".name: missing (every head needs a name)"));
      }
      auto [hit, head_inserted] = head_index.emplace(h.name, j);
      if (!head_inserted) {
        return ctx.Error(JoinPath(head_path, "name"),
                         absl::StrCat(head_path, ".name: duplicate head name '", h.name,
                                      "' (also ", path, ".heads.", hit->second, ".name)"));
      }
    }
  }
  if (config.detector.model.empty()) {
    return ctx.Error("detector", "detector.model: missing (the detector needs a model file)");
  }
  const TlsConfig& tls = config.server.tls;
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    const bool no_cert = tls.cert_file.empty();
    const char* missing = no_cert ? "server.tls.cert_file" : "server.tls.key_file";
    const char* present = no_cert ? "server.tls.key_file" : "server.tls.cert_file";
    return ctx.Error(present, absl::StrCat(missing, ": missing (", present, " is set; "
                                           "server.tls.cert_file and server.tls.key_file go "
                                           "together)"));
  }
  if (!tls.client_ca_file.empty() && tls.cert_file.empty()) {
    return ctx.Error("server.tls.client_ca_file",
                     "server.tls.client_ca_file: needs server.tls.cert_file and "
                     "server.tls.key_file (mutual TLS is TLS first)");
  }
  const std::string& def = config.default_embedding_predictor;
  if (!def.empty()) {
    auto it = predictor_index.find(def);
    if (it == predictor_index.end()) {
      std::vector<std::string> names;
      for (const PredictorConfig& p : config.predictors) names.push_back(p.name);
      return ctx.Error("default_embedding_predictor",
                       absl::StrCat("default_embedding_predictor: no predictor named '", def,
                                    "' (predictors: ", absl::StrJoin(names, ", "), ")"));
    }
    if (!HasEmbeddingHead(config.predictors[it->second])) {
      return ctx.Error("default_embedding_predictor",
                       absl::StrCat("default_embedding_predictor: predictor '", def,
                                    "' has no head of kind embedding"));
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------

// `source` names the file in messages ("" for ParseConfig's text).
absl::StatusOr<Config> ParseConfigNode(YAML::Node root, const std::vector<std::string>& overrides,
                                       const std::string& source) {
  auto prefixed = [&](const absl::Status& s) {
    return source.empty() ? s
                          : absl::Status(s.code(), absl::StrCat(source, ": ", s.message()));
  };
  Config config;
  try {
    if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);  // unshared
    if (!root.IsMap()) {
      return prefixed(absl::InvalidArgumentError(
          absl::StrCat("top level: expected a map of sections, got ", Describe(root))));
    }
    std::vector<OverrideOrigin> origins;
    for (const std::string& text : overrides) {
      absl::Status status = ApplyOverride(root, text, &origins);
      if (!status.ok()) return status;
    }
    ErrorContext ctx(root, origins);
    absl::Status status = RootSchema().Convert(root, "", ctx, &config);
    if (status.ok()) status = ValidateAcrossKeys(config, ctx);
    if (!status.ok()) return prefixed(status);
  } catch (const YAML::Exception& e) {
    return prefixed(absl::InvalidArgumentError(
        absl::StrCat("YAML error at line ", e.mark.line + 1, ", column ",
                     e.mark.column + 1, ": ", e.msg)));
  }
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::absolute(config.models_dir, ec);
  if (!ec) config.models_dir = dir.lexically_normal().string();
  return config;
}

void FormatKeys(const Binder& binder, const std::string& path, std::string* out) {
  switch (binder.shape()) {
    case Shape::kMap:
      // A list item's own line would only repeat the list's ("list of maps").
      if (!path.empty() && !absl::EndsWith(path, ".N")) absl::StrAppend(out, path, ": map\n");
      for (const std::string& key : binder.Keys()) {
        FormatKeys(*binder.Field(key), JoinPath(path, key), out);
      }
      break;
    case Shape::kList:
      absl::StrAppend(out, path, ": ", binder.type_name(), "\n");
      if (binder.Element()->shape() != Shape::kScalar) {
        FormatKeys(*binder.Element(), JoinPath(path, "N"), out);
      }
      break;
    case Shape::kScalar:
      absl::StrAppend(out, path, ": ", binder.type_name(), "\n");
      break;
  }
}

}  // namespace

absl::StatusOr<Config> ParseConfig(const std::string& yaml_text,
                                   const std::vector<std::string>& overrides) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("invalid YAML at line ", e.mark.line + 1,
                                                   ", column ", e.mark.column + 1, ": ", e.msg));
  }
  return ParseConfigNode(root, overrides, "");
}

absl::StatusOr<Config> LoadConfig(const std::string& path,
                                  const std::vector<std::string>& overrides) {
  absl::StatusOr<YAML::Node> root = LoadYamlWithBase(path);
  if (!root.ok()) return root.status();
  return ParseConfigNode(*root, overrides, path);
}

std::string FormatConfigKeys() {
  std::string out;
  FormatKeys(RootSchema(), "", &out);
  return out;
}

}  // namespace faceserve
