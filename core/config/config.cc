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
#include "core/config/config_binders.h"
#include "core/config/config_overrides.h"

namespace faceserve {
namespace {

using namespace config_internal;  // NOLINT: this file is their user
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
        .Add("max_streams", &ServerConfig::max_streams, AtLeast(&pool_, 1))
        .Add("stream_idle_timeout_ms", &ServerConfig::stream_idle_timeout_ms,
             AtLeast<int64_t>(&pool_, 1))
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

    auto* gate = Own(new StructBinder<EnrollGateConfig>());
    gate->Add("min_face_px", &EnrollGateConfig::min_face_px, AtLeast(&pool_, 0))
        .Add("min_detection_score", &EnrollGateConfig::min_detection_score,
             InRange(&pool_, 0, true, 1, true))
        .Add("reject_truncated", &EnrollGateConfig::reject_truncated, boolean)
        .Add("antispoof_predictor", &EnrollGateConfig::antispoof_predictor, str)
        .Add("antispoof_label", &EnrollGateConfig::antispoof_label, nonempty_str)
        .Add("min_antispoof_score", &EnrollGateConfig::min_antispoof_score,
             InRange(&pool_, 0, true, 1, true));
    auto* sqlite = Own(new StructBinder<SqliteGalleryConfig>());
    sqlite->Add("path", &SqliteGalleryConfig::path, nonempty_str);
    auto* postgres = Own(new StructBinder<PostgresGalleryConfig>());
    postgres->Add("dsn", &PostgresGalleryConfig::dsn, str)
        .Add("poll_ms", &PostgresGalleryConfig::poll_ms, AtLeast<int64_t>(&pool_, 10))
        .Add("change_retention_s", &PostgresGalleryConfig::change_retention_s,
             AtLeast<int64_t>(&pool_, 60))
        .Add("stale_after_ms", &PostgresGalleryConfig::stale_after_ms,
             AtLeast<int64_t>(&pool_, 100));
    auto* hnsw = Own(new StructBinder<HnswConfig>());
    hnsw->Add("m", &HnswConfig::m, InRange(&pool_, 2, true, 128, true))
        .Add("ef_construction", &HnswConfig::ef_construction, AtLeast(&pool_, 1))
        .Add("ef_search", &HnswConfig::ef_search, AtLeast(&pool_, 1))
        .Add("half_precision", &HnswConfig::half_precision, boolean);
    auto* index = Own(new StructBinder<GalleryIndexConfig>());
    index
        ->Add("approximate_from_faces", &GalleryIndexConfig::approximate_from_faces,
              AtLeast<int64_t>(&pool_, 0))
        .Add("hnsw", &GalleryIndexConfig::hnsw, hnsw)
        .Add("search_threads", &GalleryIndexConfig::search_threads, AtLeast(&pool_, 1))
        .Add("build_threads", &GalleryIndexConfig::build_threads, AtLeast(&pool_, 1))
        .Add("snapshot_dir", &GalleryIndexConfig::snapshot_dir, str)
        .Add("snapshot_interval_s", &GalleryIndexConfig::snapshot_interval_s,
             AtLeast<int64_t>(&pool_, 1));
    auto* gallery = Own(new StructBinder<GalleryConfig>());
    gallery
        ->Add("backend", &GalleryConfig::backend,
              Own(new ScalarBinder<std::string>(
                  "(sqlite, postgres or none)", [](const std::string& v) -> std::string {
                    return v == "sqlite" || v == "postgres" || v == "none"
                               ? ""
                               : "expected sqlite, postgres or none";
                  })))
        .Add("sqlite", &GalleryConfig::sqlite, sqlite)
        .Add("postgres", &GalleryConfig::postgres, postgres)
        .Add("search_window_us", &GalleryConfig::search_window_us, AtLeast<int64_t>(&pool_, 0))
        .Add("search_max_queries", &GalleryConfig::search_max_queries, AtLeast(&pool_, 1))
        .Add("search_max_pending", &GalleryConfig::search_max_pending, AtLeast(&pool_, 1))
        .Add("index", &GalleryConfig::index, index)
        .Add("enroll", &GalleryConfig::enroll, gate);

    auto* http = Own(new StructBinder<HttpConfig>());
    http->Add("listen", &HttpConfig::listen, str)
        .Add("threads", &HttpConfig::threads, AtLeast(&pool_, 0))
        .Add("keep_alive_timeout_s", &HttpConfig::keep_alive_timeout_s, AtLeast<int64_t>(&pool_, 1))
        .Add("keep_alive_max_requests", &HttpConfig::keep_alive_max_requests, AtLeast(&pool_, 1))
        .Add("read_timeout_s", &HttpConfig::read_timeout_s, AtLeast<int64_t>(&pool_, 1))
        .Add("cors_origins", &HttpConfig::cors_origins, str_list);
    auto* auth = Own(new StructBinder<AuthConfig>());
    auth->Add("required", &AuthConfig::required, boolean)
        .Add("keys_file", &AuthConfig::keys_file, str)
        .Add("keys_file_poll_ms", &AuthConfig::keys_file_poll_ms, AtLeast<int64_t>(&pool_, 10))
        .Add("store_poll_ms", &AuthConfig::store_poll_ms, AtLeast<int64_t>(&pool_, 10));
    auto* root = Own(new StructBinder<Config>());
    root->Add("server", &Config::server, server)
        .Add("http", &Config::http, http)
        .Add("auth", &Config::auth, auth)
        .Add("metrics", &Config::metrics, metrics)
        .Add("reader", &Config::reader, reader)
        .Add("device", &Config::device, dev)
        .Add("models_dir", &Config::models_dir, nonempty_str)
        .Add("detector", &Config::detector, detector)
        .Add("predictors", &Config::predictors,
             Own(new ListBinder<PredictorConfig>(predictor)))
        .Add("default_embedding_predictor", &Config::default_embedding_predictor, str)
        .Add("utilizers", &Config::utilizers, utilizers)
        .Add("gallery", &Config::gallery, gallery);
    root_ = root;
  }

  std::vector<std::unique_ptr<Binder>> pool_;
  const Binder* root_ = nullptr;
};

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
  if (config.gallery.backend == "postgres" && config.gallery.postgres.dsn.empty()) {
    return ctx.Error("gallery.postgres.dsn",
                     "gallery.postgres.dsn: gallery.backend is postgres, so a libpq connection "
                     "string is needed (e.g. \"host=db dbname=faceserve user=faceserve\"; the "
                     "password from PGPASSWORD or a passfile)");
  }
  if (config.auth.required && config.auth.keys_file.empty() && config.gallery.backend == "none") {
    return ctx.Error("auth.required",
                     "auth.required: no key could ever be valid: set auth.keys_file (keys come "
                     "from CreateApiKey only with a gallery database, and gallery.backend is none)");
  }
  const std::string& antispoof = config.gallery.enroll.antispoof_predictor;
  if (!antispoof.empty() && predictor_index.count(antispoof) == 0) {
    return ctx.Error("gallery.enroll.antispoof_predictor",
                     absl::StrCat("gallery.enroll.antispoof_predictor: no predictor named '",
                                  antispoof, "'"));
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

const Binder& config_internal::RootSchema() {
  static const Schema* const schema = new Schema();
  return schema->root();
}

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

absl::StatusOr<std::string> ResolvedConfigYaml(const std::string& path,
                                               const std::vector<std::string>& overrides) {
  absl::StatusOr<YAML::Node> root = LoadYamlWithBase(path);
  if (!root.ok()) return root.status();
  try {
    std::vector<OverrideOrigin> origins;
    for (const std::string& text : overrides) {
      if (absl::Status s = ApplyOverride(*root, text, &origins); !s.ok()) return s;
    }
    absl::StatusOr<Config> checked = ParseConfigNode(YAML::Clone(*root), {}, path);
    if (!checked.ok()) return checked.status();
    YAML::Emitter out;
    out << *root;
    return std::string(out.c_str()) + "\n";
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", e.what()));
  }
}

std::string FormatConfigKeys() {
  std::string out;
  FormatKeys(RootSchema(), "", &out);
  return out;
}

}  // namespace faceserve
