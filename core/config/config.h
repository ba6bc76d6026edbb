// The server's configuration as typed values. Loaded from YAML (plus
// command-line `--set key=value` overrides) by LoadConfig(); every key and its
// default is documented in docs/configuration.md. Plain data: copyable, no
// yaml-cpp in this header.
#ifndef FACESERVE_CORE_CONFIG_CONFIG_H_
#define FACESERVE_CORE_CONFIG_CONFIG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/batching/batching_options.h"
#include "core/types.h"

namespace faceserve {

// TLS on the gRPC port. Plaintext while cert_file is empty. PEM files, read
// once at start-up.
struct TlsConfig {
  std::string cert_file;       // server certificate chain
  std::string key_file;        // its private key
  std::string client_ca_file;  // set: mutual TLS, clients must present a certificate it signed
};

struct ServerConfig {
  std::string listen = "0.0.0.0:50051";
  TlsConfig tls;
  int64_t max_message_bytes = 32 << 20;  // gRPC max receive message size
  int max_concurrent_calls = 256;        // beyond this: RESOURCE_EXHAUSTED
  int max_streams = 16;                  // AnalyzeStream streams open at once
  // A stream whose client sends nothing for this long while the server waits
  // for its next message ends with STREAM_IDLE (its state and budget freed).
  int64_t stream_idle_timeout_ms = 30000;
  int request_threads = 2;  // CPU work of requests: decode, crop, NMS, drawing
  int64_t default_deadline_ms = 30000;  // applied when the client sets none
  int64_t shutdown_grace_ms = 10000;    // on SIGTERM: time for calls in flight to finish
};

struct MetricsConfig {
  std::string listen = "0.0.0.0:9464";  // empty: no metrics endpoint
};

struct ReaderConfig {
  int64_t max_bytes = 20 << 20;     // encoded or raw bytes per image
  int64_t max_pixels = 40000000;    // width * height, checked before decoding
};

struct DeviceConfig {
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  bool fp16 = false;            // half precision on CUDA (ignored on CPU)
  int intra_op_threads = 0;     // LibTorch threads per op; 0: cores / workers
  bool pin_cpu_passes = true;   // with 1 intra-op thread: each CPU pass on its slot's own core
  bool preheat = true;          // run every model at every batch size first
  bool optimize_for_inference = true;  // freeze + LibTorch's optimize_for_inference at load
};

// A second, zoomed-out detector pass for faces too large for the detector
// (core/detector/zoom_out.h): it runs when the first pass finds no face or
// one at least trigger_width of the image's longer side wide, on the image
// shrunk inside a canvas canvas_scale times its longer side.
struct ZoomOutConfig {
  float trigger_width = 0.0f;  // 0: off
  float canvas_scale = 2.5f;
};

// The face detector.
struct DetectorConfig {
  std::string name = "ssd_mobilenetv1";
  std::string model;       // .pt path (relative: to models_dir); card beside it
  float min_score = 0.5f;  // default when a request sets none
  float nms_iou = 0.3f;
  int max_faces = 64;      // per image, highest scores kept
  ZoomOutConfig zoom_out;
  BatchingOptions batching;
};

// How a predictor's input crop is made from a face.
struct CropConfig {
  enum class Method {
    kBox,         // a box padded to a centred square (zeros), resized (face-api)
    kSimilarity,  // similarity transform of 5 landmarks onto a template (dlib chip)
    kShiftedBox,  // the detection box scaled, shifted inside the image, stretched
                  // (Silent-Face-Anti-Spoofing's CropImage, for MiniFASNet)
    kSquareBox,   // a square of max(w, h) * scale about the detection box's centre,
                  // zeros outside the image (human's face crop, for human-models)
  };
  enum class BoxSource {
    kDetection,   // the detector's box
    kLandmarks,   // the box around the 68 landmarks (face-api's alignedRect)
    kLandmarksDlib,  // the square face-api cuts for descriptors (alignDlib) from eyes and mouth
  };
  Method method = Method::kBox;
  BoxSource box = BoxSource::kDetection;
  float scale = 1.0f;     // kBox, kShiftedBox, kSquareBox: box scaled around its centre (MiniFASNet: 2.7)
  float padding = 0.25f;  // kSimilarity: dlib's get_face_chip padding
  int size = 0;           // side of the square crop; 0: the model card's input
};

struct HeadConfig {
  std::string name;
  int output = 0;  // index into the model's outputs
  HeadKind kind = HeadKind::kClassification;
  std::vector<std::string> labels;  // classes (0: the card's labels)
  bool apply_softmax = true;        // kClassification: false if model outputs probabilities
  float threshold = 0.5f;           // kMultiLabel
  std::vector<std::string> value_names;  // kRegression: one name per value
  float value_scale = 1.0f, value_offset = 0.0f;  // kRegression: v*scale+offset
  // kLandmarks, kLandmarks3d: how the model states coordinates.
  enum class Units {
    kNormalized,  // 0..1 of the crop side (face-api's landmark net)
    kCropPixels,  // pixels of the crop (MediaPipe's face mesh)
  };
  Units units = Units::kNormalized;
};

struct PredictorConfig {
  std::string name;   // how requests and responses refer to it
  std::string model;  // .pt path (relative: to models_dir); card beside it
  CropConfig crop;
  std::vector<HeadConfig> heads;
  // For predictors with an embedding head: the cosine-similarity threshold
  // for Verify (chosen from data; see docs).
  float verify_threshold = 0.0f;
  BatchingOptions batching;
};

// What the utilizer stage derives from the analysed faces besides drawing.
struct UtilizersConfig {
  // Yaw, pitch and roll from the 68 landmarks (core/utilizer/head_pose.h), for
  // each face the 68-point model ran on.
  bool head_pose = true;
};

// Enrollment's quality gate (issue 27): which images may become a gallery
// face. Defaults measured: see docs/configuration.md.
struct EnrollGateConfig {
  int min_face_px = 64;              // shorter side of the face box
  float min_detection_score = 0.9f;  // detector score
  bool reject_truncated = true;      // a face cut by the image border
  // A configured predictor with a classification head whose label
  // `antispoof_label` must score at least `min_antispoof_score`; empty: no
  // anti-spoof check.
  std::string antispoof_predictor;
  std::string antispoof_label = "real";
  float min_antispoof_score = 0.5f;
};

struct SqliteGalleryConfig {
  std::string path = "var/galleries.sqlite";  // created with its folder when missing
};

// gallery.backend: postgres (issue 33): galleries shared by several replicas.
struct PostgresGalleryConfig {
  // A libpq connection string ("host=db dbname=faceserve user=faceserve", or
  // a postgresql:// URI). The password is best left out of it: libpq reads
  // PGPASSWORD or a passfile (PGPASSFILE, ~/.pgpass) itself.
  std::string dsn;
  // The longest a replica waits for a NOTIFY before reading the change log
  // anyway (a lost notification delays a change by at most this).
  int64_t poll_ms = 1000;
  // Changes stay in the log this long: a replica away for longer reloads
  // every gallery when it is back.
  int64_t change_retention_s = 86400;
  // A replica whose last read of the log is older than this reports its
  // galleries as possibly stale (metrics, /readyz stays ready: searches
  // answer from memory).
  int64_t stale_after_ms = 5000;
};

// The approximate index's graph (hnswlib's parameters; issue 28).
struct HnswConfig {
  int m = 32;
  int ef_construction = 200;
  int ef_search = 112;
  bool half_precision = true;  // vectors kept as halves: half the reads
};

// How galleries are searched in memory (issue 28).
struct GalleryIndexConfig {
  // A gallery created with index auto is searched exactly below this many
  // faces and through an HNSW graph from here on.
  int64_t approximate_from_faces = 20000;
  HnswConfig hnsw;
  int search_threads = 2;  // approximate searches run at once on these
  int build_threads = 2;   // threads linking a new graph
  // Graph snapshots; empty: beside the SQLite file, "<sqlite.path>.index"
  // (with postgres: none, graphs are built from the database at start).
  std::string snapshot_dir;
  int64_t snapshot_interval_s = 60;
};

// Galleries and 1:N identification (GalleryService).
struct GalleryConfig {
  std::string backend = "sqlite";  // sqlite | postgres | none (no GalleryService)
  SqliteGalleryConfig sqlite;
  PostgresGalleryConfig postgres;
  // Searches of concurrent requests share one pass over a gallery: a pass
  // starts this long after the oldest waiting search arrived, or when
  // search_max_queries wait.
  int64_t search_window_us = 500;
  int search_max_queries = 256;
  int search_max_pending = 4096;  // beyond: RESOURCE_EXHAUSTED
  GalleryIndexConfig index;
  EnrollGateConfig enroll;
};

// The HTTP/JSON API (issue 31; server/http_api.h).
struct HttpConfig {
  std::string listen;  // "host:port"; empty: no HTTP API
  // Threads serving connections, one connection each at a time (an idle
  // keep-alive connection holds one until keep_alive_timeout_s); 0:
  // server.max_concurrent_calls + 64.
  int threads = 0;
  int64_t keep_alive_timeout_s = 5;    // an idle connection is closed after this
  int keep_alive_max_requests = 100;   // requests on one connection before it is closed
  int64_t read_timeout_s = 30;         // for a request's headers and body to arrive
  // Origins whose pages may call the API from a browser (CORS); "*": any.
  // Empty (the default): no CORS headers, so browsers refuse cross-origin
  // calls.
  std::vector<std::string> cors_origins;
};

// API keys (issue 29; core/auth/access_control.h).
struct AuthConfig {
  // Every call of FaceService, GalleryService and ApiKeyService must carry
  // an API key (health and reflection need none). Off: no key is checked.
  bool required = false;
  // Digests of keys provisioned by file (facectl api-key generate); empty:
  // none. Re-read when it changes.
  std::string keys_file;
  int64_t keys_file_poll_ms = 1000;
  // With gallery.backend postgres: the keys other replicas make or revoke
  // hold here after at most this long.
  int64_t store_poll_ms = 1000;
};

struct Config {
  ServerConfig server;
  HttpConfig http;
  AuthConfig auth;
  MetricsConfig metrics;
  ReaderConfig reader;
  DeviceConfig device;
  std::string models_dir = "models/exported";
  DetectorConfig detector;
  std::vector<PredictorConfig> predictors;  // run order is derived, not this order
  std::string default_embedding_predictor;  // for Embed / Verify; empty: the first
  UtilizersConfig utilizers;
  GalleryConfig gallery;
};

// Reads the YAML file at `path`, applies `overrides` ("a.b.c=value", YAML
// scalar or flow syntax for the value, list items by index: predictors.0.name)
// and validates. Errors (INVALID_ARGUMENT / NOT_FOUND) name the offending key.
absl::StatusOr<Config> LoadConfig(const std::string& path,
                                  const std::vector<std::string>& overrides);

// The configuration LoadConfig would read, as YAML: the file merged over its
// `base:` files, with `overrides` applied (`faceserve --print-config`; tools
// that read a configuration use it instead of merging again). Checked as
// LoadConfig checks it; the files' comments are not kept.
absl::StatusOr<std::string> ResolvedConfigYaml(const std::string& path,
                                               const std::vector<std::string>& overrides);

// Same, from YAML text (for tests).
absl::StatusOr<Config> ParseConfig(const std::string& yaml_text,
                                   const std::vector<std::string>& overrides);

// Every configuration key, one per line as "path: type", list items written
// as N (e.g. "predictors.N.heads.N.kind: one of classification, ..."). The
// schema that LoadConfig validates against; docs/configuration.md lists the
// same keys (a test checks that).
std::string FormatConfigKeys();

}  // namespace faceserve

#endif  // FACESERVE_CORE_CONFIG_CONFIG_H_
