// Tests of LoadConfig / ParseConfig: the shipped YAML files, --set overrides,
// and one test per class of error (each message must name the key).
#include "core/config/config.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace faceserve {
namespace {

const std::string kSourceDir = FACESERVE_SOURCE_DIR;

// gtest-only substring check (no gmock).
::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A small valid config to start error tests from.
constexpr char kMinimal[] = R"yaml(
detector:
  model: det.pt
predictors:
  - name: landmarks
    model: lm.pt
    heads:
      - {name: landmarks_68, kind: landmarks}
  - name: embedding
    model: emb.pt
    crop: {method: similarity, size: 150}
    heads:
      - {name: embedding, kind: embedding}
)yaml";

// Expects INVALID_ARGUMENT whose message contains every string of `parts`.
void ExpectInvalid(const absl::StatusOr<Config>& result,
                   const std::vector<std::string>& parts) {
  ASSERT_FALSE(result.ok()) << "expected an error containing " << parts[0];
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
      << result.status();
  for (const std::string& part : parts) {
    EXPECT_TRUE(Contains(std::string(result.status().message()), part));
  }
}

absl::StatusOr<Config> Minimal(const std::vector<std::string>& overrides) {
  return ParseConfig(kMinimal, overrides);
}

// ---------------------------------------------------------------------------
// Shipped files

// config/faceapi.yaml is face-api's pipeline: its detector with face-api's
// own constants (minConfidence 0.5, NMS IoU 0.5, 100 faces), no zoom-out
// pass, and the landmark source first so that the crops that need the 68
// landmarks can have them.
TEST(ConfigTest, FaceApiYamlIsFaceApisPipeline) {
  absl::StatusOr<Config> config = LoadConfig(kSourceDir + "/config/faceapi.yaml", {});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->detector.model, "ssd_mobilenetv1.pt");
  EXPECT_FLOAT_EQ(config->detector.min_score, 0.5f);
  EXPECT_FLOAT_EQ(config->detector.nms_iou, 0.5f);
  EXPECT_EQ(config->detector.max_faces, 100);
  EXPECT_FLOAT_EQ(config->detector.zoom_out.trigger_width, 0.0f);
  ASSERT_FALSE(config->predictors.empty());
  EXPECT_EQ(config->predictors[0].heads.at(0).kind, HeadKind::kLandmarks);
  for (const PredictorConfig& p : config->predictors) {
    if (p.crop.box != CropConfig::BoxSource::kDetection) {
      EXPECT_NE(&p, &config->predictors[0]) << p.name << " needs landmarks made before it";
    }
    EXPECT_LE(p.batching.max_batch_size, p.batching.max_queue_size) << p.name;
  }
  bool default_has_embedding = false;
  for (const PredictorConfig& p : config->predictors) {
    if (p.name != config->default_embedding_predictor) continue;
    for (const HeadConfig& h : p.heads) default_has_embedding |= h.kind == HeadKind::kEmbedding;
  }
  EXPECT_TRUE(default_has_embedding);
}

// Every shipped file loads, and its batches fit its queues.
TEST(ConfigTest, EveryShippedConfigLoads) {
  for (const char* name : {"default", "faceapi", "faceapi-unbatched", "full", "gpu"}) {
    absl::StatusOr<Config> config = LoadConfig(kSourceDir + "/config/" + name + ".yaml", {});
    ASSERT_TRUE(config.ok()) << name << ": " << config.status();
    EXPECT_LE(config->detector.batching.max_batch_size, config->detector.batching.max_queue_size)
        << name;
    for (const PredictorConfig& p : config->predictors) {
      EXPECT_LE(p.batching.max_batch_size, p.batching.max_queue_size) << name << " " << p.name;
    }
  }
}

// config/full.yaml is default.yaml plus more predictors: default's come
// first, unchanged, and the utilizers are on.
TEST(ConfigTest, FullYamlIsDefaultPlusMorePredictors) {
  absl::StatusOr<Config> def = LoadConfig(kSourceDir + "/config/default.yaml", {});
  absl::StatusOr<Config> full = LoadConfig(kSourceDir + "/config/full.yaml", {});
  ASSERT_TRUE(def.ok()) << def.status();
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->detector.model, def->detector.model);
  EXPECT_EQ(full->detector.min_score, def->detector.min_score);
  ASSERT_GT(full->predictors.size(), def->predictors.size());
  for (size_t i = 0; i < def->predictors.size(); ++i) {
    EXPECT_EQ(full->predictors[i].name, def->predictors[i].name);
    EXPECT_EQ(full->predictors[i].model, def->predictors[i].model);
    EXPECT_EQ(full->predictors[i].verify_threshold, def->predictors[i].verify_threshold);
  }
  EXPECT_TRUE(full->utilizers.head_pose);
}

// config/default.yaml: the measured-best detector (RetinaFace with its
// zoom-out pass) in front of face-api's four predictors, as faceapi.yaml
// has them, with the verify threshold chosen for RetinaFace's alignment.
TEST(ConfigTest, DefaultYamlIsRetinaFaceThenFaceApisPredictors) {
  absl::StatusOr<Config> def = LoadConfig(kSourceDir + "/config/default.yaml", {});
  absl::StatusOr<Config> faceapi = LoadConfig(kSourceDir + "/config/faceapi.yaml", {});
  ASSERT_TRUE(def.ok()) << def.status();
  ASSERT_TRUE(faceapi.ok()) << faceapi.status();
  EXPECT_EQ(def->detector.name, "retinaface_mnet025");
  EXPECT_EQ(def->detector.model, "retinaface_mnet025.pt");
  EXPECT_FLOAT_EQ(def->detector.min_score, 0.7f);
  EXPECT_FLOAT_EQ(def->detector.nms_iou, 0.4f);
  EXPECT_EQ(def->detector.max_faces, 100);
  EXPECT_FLOAT_EQ(def->detector.zoom_out.trigger_width, 0.25f);
  EXPECT_FLOAT_EQ(def->detector.zoom_out.canvas_scale, 2.5f);
  EXPECT_EQ(def->detector.batching.max_batch_size, 1);
  EXPECT_EQ(def->detector.batching.num_workers, 2);
  EXPECT_FLOAT_EQ(faceapi->detector.zoom_out.trigger_width, 0.0f);  // face-api's pipeline: off
  ASSERT_EQ(def->predictors.size(), faceapi->predictors.size());
  for (size_t i = 0; i < def->predictors.size(); ++i) {
    const PredictorConfig& d = def->predictors[i];
    const PredictorConfig& f = faceapi->predictors[i];
    EXPECT_EQ(d.name, f.name);
    EXPECT_EQ(d.model, f.model);
    EXPECT_EQ(d.crop.method, f.crop.method);
    EXPECT_EQ(d.crop.box, f.crop.box);
    EXPECT_EQ(d.crop.padding, f.crop.padding);
    EXPECT_EQ(d.crop.size, f.crop.size);
    ASSERT_EQ(d.heads.size(), f.heads.size());
    for (size_t j = 0; j < d.heads.size(); ++j) {
      EXPECT_EQ(d.heads[j].kind, f.heads[j].kind);
      EXPECT_EQ(d.heads[j].labels, f.heads[j].labels);
    }
  }
  EXPECT_FLOAT_EQ(def->predictors[3].verify_threshold, 0.925f);
  EXPECT_FLOAT_EQ(faceapi->predictors[3].verify_threshold, 0.915f);
  EXPECT_EQ(def->default_embedding_predictor, "embedding");
}

TEST(ConfigTest, FaceApiUnbatchedIsFaceApiWithEveryBatchSizeOne) {
  absl::StatusOr<Config> batched = LoadConfig(kSourceDir + "/config/faceapi.yaml", {});
  absl::StatusOr<Config> unbatched =
      LoadConfig(kSourceDir + "/config/faceapi-unbatched.yaml", {});
  ASSERT_TRUE(batched.ok()) << batched.status();
  ASSERT_TRUE(unbatched.ok()) << unbatched.status();
  EXPECT_EQ(unbatched->detector.batching.max_batch_size, 1);
  for (const PredictorConfig& p : unbatched->predictors) {
    EXPECT_EQ(p.batching.max_batch_size, 1) << p.name;
  }
  // Forcing batch size 1 on the default gives the same file, key for key.
  std::vector<std::string> unbatch = {"detector.batching.max_batch_size=1"};
  for (size_t i = 0; i < batched->predictors.size(); ++i) {
    unbatch.push_back("predictors." + std::to_string(i) + ".batching.max_batch_size=1");
  }
  absl::StatusOr<Config> forced = LoadConfig(kSourceDir + "/config/faceapi.yaml", unbatch);
  ASSERT_TRUE(forced.ok()) << forced.status();
  // Compare the parts that the two files must share.
  EXPECT_EQ(forced->server.listen, unbatched->server.listen);
  EXPECT_EQ(forced->server.max_message_bytes, unbatched->server.max_message_bytes);
  EXPECT_EQ(forced->server.max_concurrent_calls, unbatched->server.max_concurrent_calls);
  EXPECT_EQ(forced->server.request_threads, unbatched->server.request_threads);
  EXPECT_EQ(forced->server.default_deadline_ms, unbatched->server.default_deadline_ms);
  EXPECT_EQ(forced->metrics.listen, unbatched->metrics.listen);
  EXPECT_EQ(forced->reader.max_bytes, unbatched->reader.max_bytes);
  EXPECT_EQ(forced->reader.max_pixels, unbatched->reader.max_pixels);
  EXPECT_EQ(forced->device.device, unbatched->device.device);
  EXPECT_EQ(forced->device.fp16, unbatched->device.fp16);
  EXPECT_EQ(forced->device.intra_op_threads, unbatched->device.intra_op_threads);
  EXPECT_EQ(forced->device.pin_cpu_passes, unbatched->device.pin_cpu_passes);
  EXPECT_EQ(forced->device.preheat, unbatched->device.preheat);
  EXPECT_EQ(forced->models_dir, unbatched->models_dir);
  EXPECT_EQ(forced->detector.model, unbatched->detector.model);
  EXPECT_EQ(forced->detector.min_score, unbatched->detector.min_score);
  EXPECT_EQ(forced->detector.nms_iou, unbatched->detector.nms_iou);
  EXPECT_EQ(forced->detector.max_faces, unbatched->detector.max_faces);
  EXPECT_EQ(forced->detector.batching.max_queue_delay_us,
            unbatched->detector.batching.max_queue_delay_us);
  ASSERT_EQ(forced->predictors.size(), unbatched->predictors.size());
  for (size_t i = 0; i < forced->predictors.size(); ++i) {
    const PredictorConfig& a = forced->predictors[i];
    const PredictorConfig& b = unbatched->predictors[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.model, b.model);
    EXPECT_EQ(a.crop.method, b.crop.method);
    EXPECT_EQ(a.crop.box, b.crop.box);
    EXPECT_EQ(a.crop.padding, b.crop.padding);
    EXPECT_EQ(a.crop.size, b.crop.size);
    EXPECT_EQ(a.verify_threshold, b.verify_threshold);
    EXPECT_EQ(a.batching.max_queue_size, b.batching.max_queue_size);
    ASSERT_EQ(a.heads.size(), b.heads.size());
    for (size_t j = 0; j < a.heads.size(); ++j) {
      EXPECT_EQ(a.heads[j].name, b.heads[j].name);
      EXPECT_EQ(a.heads[j].kind, b.heads[j].kind);
      EXPECT_EQ(a.heads[j].output, b.heads[j].output);
      EXPECT_EQ(a.heads[j].labels, b.heads[j].labels);
      EXPECT_EQ(a.heads[j].apply_softmax, b.heads[j].apply_softmax);
    }
  }
  EXPECT_EQ(forced->default_embedding_predictor, unbatched->default_embedding_predictor);
}

// config/gpu.yaml: default.yaml's models, crops, thresholds and outputs, with
// a GPU's device, batch sizes and threads.
TEST(ConfigTest, GpuYamlIsDefaultModelsWithGpuBatching) {
  absl::StatusOr<Config> cpu = LoadConfig(kSourceDir + "/config/default.yaml", {});
  absl::StatusOr<Config> gpu = LoadConfig(kSourceDir + "/config/gpu.yaml", {});
  ASSERT_TRUE(cpu.ok()) << cpu.status();
  ASSERT_TRUE(gpu.ok()) << gpu.status();
  EXPECT_EQ(gpu->device.device, "cuda");
  EXPECT_GT(gpu->server.max_concurrent_calls, cpu->server.max_concurrent_calls);
  EXPECT_GT(gpu->server.request_threads, cpu->server.request_threads);
  EXPECT_EQ(gpu->detector.name, cpu->detector.name);
  EXPECT_EQ(gpu->detector.model, cpu->detector.model);
  EXPECT_EQ(gpu->detector.min_score, cpu->detector.min_score);
  EXPECT_EQ(gpu->detector.nms_iou, cpu->detector.nms_iou);
  EXPECT_EQ(gpu->detector.max_faces, cpu->detector.max_faces);
  EXPECT_EQ(gpu->detector.zoom_out.trigger_width, cpu->detector.zoom_out.trigger_width);
  EXPECT_EQ(gpu->detector.zoom_out.canvas_scale, cpu->detector.zoom_out.canvas_scale);
  EXPECT_GT(gpu->detector.batching.max_batch_size, cpu->detector.batching.max_batch_size);
  ASSERT_EQ(gpu->predictors.size(), cpu->predictors.size());
  for (size_t i = 0; i < gpu->predictors.size(); ++i) {
    const PredictorConfig& g = gpu->predictors[i];
    const PredictorConfig& c = cpu->predictors[i];
    EXPECT_EQ(g.name, c.name);
    EXPECT_EQ(g.model, c.model);
    EXPECT_EQ(g.crop.method, c.crop.method);
    EXPECT_EQ(g.crop.box, c.crop.box);
    EXPECT_EQ(g.crop.padding, c.crop.padding);
    EXPECT_EQ(g.crop.size, c.crop.size);
    EXPECT_EQ(g.verify_threshold, c.verify_threshold);
    EXPECT_GT(g.batching.max_batch_size, c.batching.max_batch_size) << g.name;
    EXPECT_GE(g.batching.max_queue_size, g.batching.max_batch_size) << g.name;
    ASSERT_EQ(g.heads.size(), c.heads.size());
    for (size_t j = 0; j < g.heads.size(); ++j) {
      EXPECT_EQ(g.heads[j].name, c.heads[j].name);
      EXPECT_EQ(g.heads[j].kind, c.heads[j].kind);
      EXPECT_EQ(g.heads[j].output, c.heads[j].output);
      EXPECT_EQ(g.heads[j].labels, c.heads[j].labels);
      EXPECT_EQ(g.heads[j].apply_softmax, c.heads[j].apply_softmax);
    }
  }
  EXPECT_EQ(gpu->default_embedding_predictor, cpu->default_embedding_predictor);
}

TEST(ConfigTest, DocsListEveryKey) {
  const std::string docs = ReadFile(kSourceDir + "/docs/configuration.md");
  ASSERT_FALSE(docs.empty());
  for (absl::string_view line : absl::StrSplit(FormatConfigKeys(), '\n', absl::SkipEmpty())) {
    const std::string key(line.substr(0, line.find(':')));
    EXPECT_NE(docs.find("`" + key + "`"), std::string::npos)
        << "docs/configuration.md does not mention `" << key << "`";
  }
}

TEST(ConfigTest, FormatConfigKeysListsPathsWithTypes) {
  const std::string keys = FormatConfigKeys();
  EXPECT_TRUE(Contains(keys, "server.listen: string"));
  EXPECT_TRUE(Contains(keys, "detector.batching.max_batch_size: integer >= 1"));
  EXPECT_TRUE(Contains(keys, "predictors.N.heads.N.kind: one of classification, "
                              "multi_label, regression, embedding, landmarks"));
}

// ---------------------------------------------------------------------------
// Defaults and conversion

TEST(ConfigTest, EmptyTextFailsOnlyForTheMissingDetectorModel) {
  ExpectInvalid(ParseConfig("", {}), {"detector.model"});
  absl::StatusOr<Config> config = ParseConfig("", {"detector.model=d.pt"});
  ASSERT_TRUE(config.ok()) << config.status();
  const Config defaults;
  EXPECT_EQ(config->server.listen, defaults.server.listen);
  EXPECT_EQ(config->server.max_message_bytes, defaults.server.max_message_bytes);
  EXPECT_EQ(config->reader.max_pixels, defaults.reader.max_pixels);
  EXPECT_EQ(config->detector.batching.max_batch_size,
            defaults.detector.batching.max_batch_size);
  EXPECT_TRUE(config->predictors.empty());
}

TEST(ConfigTest, MissingKeysTakeStructDefaults) {
  absl::StatusOr<Config> config = Minimal({});
  ASSERT_TRUE(config.ok()) << config.status();
  const PredictorConfig& p = config->predictors[1];
  const PredictorConfig defaults;
  const HeadConfig head_defaults;
  EXPECT_EQ(p.crop.method, CropConfig::Method::kSimilarity);
  EXPECT_EQ(p.crop.padding, defaults.crop.padding);
  EXPECT_EQ(p.batching.max_batch_size, defaults.batching.max_batch_size);
  EXPECT_EQ(p.heads[0].output, head_defaults.output);
  EXPECT_EQ(p.heads[0].apply_softmax, head_defaults.apply_softmax);
  EXPECT_EQ(config->default_embedding_predictor, "");
}

TEST(ConfigTest, ParsesBooleansNumbersAndNullString) {
  absl::StatusOr<Config> config =
      Minimal({"device.fp16=yes", "device.preheat=off", "metrics.listen=",
               "server.max_message_bytes=1048576", "detector.min_score=.25",
               "predictors.0.heads.0.value_offset=-1.5e1"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->device.fp16);
  EXPECT_FALSE(config->device.preheat);
  EXPECT_EQ(config->metrics.listen, "");
  EXPECT_EQ(config->server.max_message_bytes, 1048576);
  EXPECT_FLOAT_EQ(config->detector.min_score, 0.25f);
  EXPECT_FLOAT_EQ(config->predictors[0].heads[0].value_offset, -15.0f);

  config = ParseConfig(std::string(kMinimal) + "metrics:\n  listen:\n", {});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->metrics.listen, "");
}

TEST(ConfigTest, RelativeModelsDirIsResolvedAgainstTheWorkingDirectory) {
  absl::StatusOr<Config> config = Minimal({"models_dir=some/models"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->models_dir, (std::filesystem::current_path() / "some/models").string());

  config = Minimal({"models_dir=/srv/models"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->models_dir, "/srv/models");
}

// ---------------------------------------------------------------------------
// Overrides

TEST(ConfigTest, OverridesScalars) {
  absl::StatusOr<Config> config =
      LoadConfig(kSourceDir + "/config/default.yaml",
                 {"server.listen=127.0.0.1:50052", "device.device=cpu",
                  "device.intra_op_threads=4", "device.pin_cpu_passes=false",
                  "detector.min_score=0.7"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server.listen, "127.0.0.1:50052");
  EXPECT_EQ(config->device.device, "cpu");
  EXPECT_EQ(config->device.intra_op_threads, 4);
  EXPECT_FALSE(config->device.pin_cpu_passes);
  EXPECT_FLOAT_EQ(config->detector.min_score, 0.7f);
}

TEST(ConfigTest, OverridesNestedKeysAndListItemsByIndex) {
  absl::StatusOr<Config> config =
      LoadConfig(kSourceDir + "/config/default.yaml",
                 {"predictors.1.batching.max_batch_size=32",
                  "predictors.2.heads.1.labels=[m, f]",
                  "predictors.3.verify_threshold=0.42"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->predictors[1].batching.max_batch_size, 32);
  EXPECT_EQ(config->predictors[0].batching.max_batch_size, 16);
  EXPECT_EQ(config->predictors[2].heads[1].labels, (std::vector<std::string>{"m", "f"}));
  EXPECT_FLOAT_EQ(config->predictors[3].verify_threshold, 0.42f);
}

TEST(ConfigTest, FlowMapOverrideMergesIntoTheMap) {
  absl::StatusOr<Config> config =
      LoadConfig(kSourceDir + "/config/default.yaml",
                 {"detector.batching={max_batch_size: 1, num_workers: 2}"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->detector.batching.max_batch_size, 1);
  EXPECT_EQ(config->detector.batching.num_workers, 2);
  // Keys the override leaves out keep the file's values.
  EXPECT_EQ(config->detector.batching.max_queue_delay_us, 5000);
  EXPECT_EQ(config->detector.batching.max_queue_size, 256);
}

TEST(ConfigTest, OverrideCreatesMissingKnownSections) {
  absl::StatusOr<Config> config =
      Minimal({"server.listen=[::]:6000", "predictors.0.batching.num_workers=3",
               "reader={max_bytes: 100}"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server.listen, "[::]:6000");
  EXPECT_EQ(config->predictors[0].batching.num_workers, 3);
  EXPECT_EQ(config->reader.max_bytes, 100);
}

TEST(ConfigTest, OverrideAtListSizeAppendsAnItem) {
  absl::StatusOr<Config> config =
      Minimal({"predictors.2={name: extra, model: x.pt, heads: [{name: h}]}"});
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->predictors.size(), 3u);
  EXPECT_EQ(config->predictors[2].name, "extra");
  EXPECT_EQ(config->predictors[2].heads[0].kind, HeadKind::kClassification);

  config = ParseConfig("detector: {model: d.pt}",
                       {"predictors.0.name=p", "predictors.0.model=p.pt",
                        "predictors.0.heads.0.name=h"});
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->predictors.size(), 1u);
  EXPECT_EQ(config->predictors[0].heads[0].name, "h");
}

TEST(ConfigTest, OverrideOfAStringKeyIsLiteralUnlessQuoted) {
  absl::StatusOr<Config> config =
      Minimal({"server.listen=[::]:50051", "metrics.listen='127.0.0.1:1'",
               "detector.name=\"a b\"", "predictors.0.name=x # not a comment"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server.listen, "[::]:50051");
  EXPECT_EQ(config->metrics.listen, "127.0.0.1:1");
  EXPECT_EQ(config->detector.name, "a b");
  EXPECT_EQ(config->predictors[0].name, "x # not a comment");
}

TEST(ConfigTest, LaterOverridesWin) {
  absl::StatusOr<Config> config = Minimal({"server.listen=a:1", "server.listen=b:2"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server.listen, "b:2");
}

// ---------------------------------------------------------------------------
// Errors: every message names the key.

TEST(ConfigErrorTest, UnknownKeyInFileNamesKeyAndKnownKeys) {
  ExpectInvalid(ParseConfig(std::string(kMinimal) + "server:\n  lisen: x:1\n", {}),
                {"unknown key 'server.lisen'", "known: listen, max_message_bytes",
                 "line 15"});
  ExpectInvalid(ParseConfig(std::string(kMinimal) + "sever: {}\n", {}),
                {"unknown key 'sever'"});
  ExpectInvalid(ParseConfig(R"yaml(
detector: {model: d.pt}
predictors:
  - name: p
    model: p.pt
    heads: [{name: h, kinds: embedding}]
)yaml",
                            {}),
                {"unknown key 'predictors.0.heads.0.kinds'"});
}

TEST(ConfigErrorTest, UnknownKeyInOverrideNamesKey) {
  ExpectInvalid(Minimal({"server.lisen=127.0.0.1:1"}),
                {"unknown key 'server.lisen'", "known: listen"});
  ExpectInvalid(Minimal({"nope.x=1"}), {"unknown key 'nope'"});
  ExpectInvalid(Minimal({"server.listen.port=1"}), {"server.listen.port"});
  ExpectInvalid(Minimal({"detector.batching={max_batch_sise: 1}"}),
                {"unknown key 'detector.batching.max_batch_sise'", "--set"});
}

TEST(ConfigErrorTest, BadOverrideSyntaxAndIndices) {
  ExpectInvalid(Minimal({"server.listen"}), {"server.listen", "key=value"});
  ExpectInvalid(Minimal({"server..listen=x"}), {"server..listen"});
  ExpectInvalid(Minimal({"predictors.5.name=x"}), {"predictors.5", "out of range"});
  ExpectInvalid(Minimal({"predictors.first.name=x"}), {"predictors.first"});
  ExpectInvalid(Minimal({"predictors.-1.name=x"}), {"predictors.-1"});
  ExpectInvalid(Minimal({"detector.batching={max_batch_size: 1"}),
                {"detector.batching", "not valid YAML"});
}

TEST(ConfigErrorTest, WrongEnumNamesKeyAndChoices) {
  ExpectInvalid(Minimal({"predictors.1.heads.0.kind=foo"}),
                {"predictors.1.heads.0.kind: expected one of classification, multi_label, "
                 "regression, embedding, landmarks, landmarks_3d, got 'foo'",
                 "from --set predictors.1.heads.0.kind=foo"});
  ExpectInvalid(Minimal({"predictors.0.crop.method=warp"}),
                {"predictors.0.crop.method", "box, similarity"});
  ExpectInvalid(Minimal({"predictors.0.crop.box=face"}),
                {"predictors.0.crop.box", "detection, landmarks"});
}

TEST(ConfigErrorTest, WrongScalarTypesNameKey) {
  ExpectInvalid(Minimal({"server.max_concurrent_calls=many"}),
                {"server.max_concurrent_calls: expected an integer, got 'many'"});
  ExpectInvalid(Minimal({"device.fp16=maybe"}), {"device.fp16: expected a boolean"});
  ExpectInvalid(Minimal({"device.pin_cpu_passes=2"}),
                {"device.pin_cpu_passes: expected a boolean"});
  ExpectInvalid(Minimal({"detector.nms_iou=abc"}), {"detector.nms_iou: expected a number"});
  ExpectInvalid(ParseConfig(std::string(kMinimal) + "server: {listen: {a: 1}}\n", {}),
                {"server.listen: expected a string, got a map"});
  ExpectInvalid(Minimal({"server=5"}), {"server: expected a map"});
  ExpectInvalid(Minimal({"predictors.0.heads.0.labels=abc"}),
                {"predictors.0.heads.0.labels: expected a list"});
  ExpectInvalid(Minimal({"server.max_concurrent_calls=99999999999"}),
                {"server.max_concurrent_calls"});
  ExpectInvalid(Minimal({"detector.min_score=nan"}), {"detector.min_score"});
}

TEST(ConfigErrorTest, WrongTypeInFileGivesLine) {
  ExpectInvalid(ParseConfig(std::string(kMinimal) + "device:\n  intra_op_threads: four\n", {}),
                {"device.intra_op_threads: expected an integer, got 'four'", "line 15"});
}

TEST(ConfigErrorTest, RangesNameKey) {
  ExpectInvalid(Minimal({"server.listen="}), {"server.listen: must not be empty"});
  ExpectInvalid(Minimal({"server.request_threads=0"}), {"server.request_threads", ">= 1"});
  ExpectInvalid(Minimal({"device.intra_op_threads=-1"}), {"device.intra_op_threads", ">= 0"});
  ExpectInvalid(Minimal({"device.device=gpu"}), {"device.device"});
  ExpectInvalid(Minimal({"device.device=cuda:x"}), {"device.device"});
  ExpectInvalid(Minimal({"detector.batching.max_batch_size=0"}),
                {"detector.batching.max_batch_size: must be >= 1, got '0'"});
  ExpectInvalid(Minimal({"predictors.1.batching.num_workers=0"}),
                {"predictors.1.batching.num_workers"});
  ExpectInvalid(Minimal({"predictors.1.batching.max_queue_delay_us=-5"}),
                {"predictors.1.batching.max_queue_delay_us"});
  ExpectInvalid(Minimal({"detector.nms_iou=0"}), {"detector.nms_iou: must be in (0, 1]"});
  ExpectInvalid(Minimal({"detector.nms_iou=1.5"}), {"detector.nms_iou"});
  ExpectInvalid(Minimal({"detector.min_score=-0.1"}), {"detector.min_score: must be in [0, 1]"});
  ExpectInvalid(Minimal({"detector.max_faces=0"}), {"detector.max_faces"});
  ExpectInvalid(Minimal({"reader.max_bytes=0"}), {"reader.max_bytes: must be >= 1"});
  ExpectInvalid(Minimal({"reader.max_pixels=-1"}), {"reader.max_pixels"});
  ExpectInvalid(Minimal({"server.max_message_bytes=0"}), {"server.max_message_bytes"});
  ExpectInvalid(Minimal({"predictors.0.heads.0.output=-1"}),
                {"predictors.0.heads.0.output: must be >= 0"});
  ExpectInvalid(Minimal({"predictors.0.crop.scale=0"}), {"predictors.0.crop.scale"});
  ExpectInvalid(Minimal({"predictors.0.heads.0.threshold=2"}),
                {"predictors.0.heads.0.threshold"});
  ExpectInvalid(Minimal({"predictors.1.verify_threshold=1.5"}),
                {"predictors.1.verify_threshold"});

  EXPECT_TRUE(Minimal({"device.device=cuda:1"}).ok());
  EXPECT_TRUE(Minimal({"detector.nms_iou=1"}).ok());
}

TEST(ConfigErrorTest, DuplicatePredictorNames) {
  ExpectInvalid(Minimal({"predictors.1.name=landmarks"}),
                {"predictors.1.name: duplicate predictor name 'landmarks'",
                 "predictors.0.name"});
}

TEST(ConfigErrorTest, DuplicateHeadNamesAndMissingParts) {
  ExpectInvalid(Minimal({"predictors.1.heads.1={name: embedding}"}),
                {"predictors.1.heads.1.name: duplicate head name 'embedding'"});
  ExpectInvalid(Minimal({"predictors.1.heads=[]"}), {"predictors.1.heads"});
  ExpectInvalid(ParseConfig("detector: {model: d.pt}\npredictors: [{model: m.pt}]\n", {}),
                {"predictors.0.name"});
  ExpectInvalid(ParseConfig("detector: {model: d.pt}\npredictors: [{name: p}]\n", {}),
                {"predictors.0.model"});
}

TEST(ConfigErrorTest, DuplicateYamlKey) {
  ExpectInvalid(ParseConfig(std::string(kMinimal) + "server: {listen: a:1, listen: b:2}\n", {}),
                {"duplicate key 'server.listen'"});
}

TEST(ConfigErrorTest, DefaultEmbeddingPredictorMustHaveEmbeddingHead) {
  EXPECT_TRUE(Minimal({"default_embedding_predictor=embedding"}).ok());
  ExpectInvalid(Minimal({"default_embedding_predictor=landmarks"}),
                {"default_embedding_predictor", "'landmarks' has no head of kind embedding"});
  ExpectInvalid(Minimal({"default_embedding_predictor=face"}),
                {"default_embedding_predictor", "no predictor named 'face'"});
}

TEST(ConfigErrorTest, TopLevelMustBeAMap) {
  ExpectInvalid(ParseConfig("- a\n- b\n", {}), {"top level"});
}

TEST(ConfigErrorTest, MalformedYamlGivesLine) {
  ExpectInvalid(ParseConfig("server:\n  listen: [a, b\nmetrics: {}\n", {}),
                {"invalid YAML at line"});
  absl::StatusOr<Config> result = ParseConfig("server:\n  listen: x\n bad: indent\n", {});
  ExpectInvalid(result, {"invalid YAML at line 3"});
}

TEST(ConfigErrorTest, MissingFileIsNotFound) {
  absl::StatusOr<Config> result = LoadConfig("/nonexistent/faceserve.yaml", {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(Contains(std::string(result.status().message()), "/nonexistent/faceserve.yaml"));
}

// --print-config: the YAML it prints is the configuration LoadConfig reads.
TEST(ConfigTest, ResolvedYamlParsesToTheSameConfiguration) {
  const std::vector<std::string> sets = {"server.request_threads=3",
                                         "predictors.1.batching.max_batch_size=2"};
  for (const char* name : {"gpu", "full", "faceapi-unbatched"}) {
    const std::string path = kSourceDir + "/config/" + name + ".yaml";
    absl::StatusOr<std::string> yaml = ResolvedConfigYaml(path, sets);
    ASSERT_TRUE(yaml.ok()) << name << ": " << yaml.status();
    EXPECT_EQ(yaml->find("base:"), std::string::npos) << name;
    absl::StatusOr<Config> reparsed = ParseConfig(*yaml, {});
    absl::StatusOr<Config> loaded = LoadConfig(path, sets);
    ASSERT_TRUE(reparsed.ok()) << name << ": " << reparsed.status();
    ASSERT_TRUE(loaded.ok()) << name << ": " << loaded.status();
    EXPECT_EQ(reparsed->server.request_threads, 3) << name;
    EXPECT_EQ(reparsed->device.device, loaded->device.device) << name;
    EXPECT_EQ(reparsed->detector.model, loaded->detector.model) << name;
    EXPECT_EQ(reparsed->detector.batching.max_batch_size,
              loaded->detector.batching.max_batch_size) << name;
    ASSERT_EQ(reparsed->predictors.size(), loaded->predictors.size()) << name;
    for (size_t i = 0; i < loaded->predictors.size(); ++i) {
      EXPECT_EQ(reparsed->predictors[i].name, loaded->predictors[i].name);
      EXPECT_EQ(reparsed->predictors[i].model, loaded->predictors[i].model);
      EXPECT_EQ(reparsed->predictors[i].batching.max_batch_size,
                loaded->predictors[i].batching.max_batch_size);
      EXPECT_EQ(reparsed->predictors[i].verify_threshold,
                loaded->predictors[i].verify_threshold);
    }
  }
  EXPECT_EQ(ResolvedConfigYaml(kSourceDir + "/config/gpu.yaml", {"server.nope=1"})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// `base:` (core/config/config_base.h), with files in a temporary folder.
class ConfigBaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("faceserve_config_base_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(ConfigBaseTest, MapsMergeKeyByKeyAndNamedListsByName) {
  Write("base.yaml",
        "detector: {model: det.pt}\n"
        "server: {listen: 1.2.3.4:5, request_threads: 3}\n"
        "predictors:\n"
        "  - {name: a, model: a.pt, heads: [{name: h, kind: embedding}],\n"
        "     batching: {max_batch_size: 2, max_queue_size: 8}}\n"
        "  - {name: b, model: b.pt, heads: [{name: h, kind: embedding}]}\n");
  const std::string variant =
      Write("variant.yaml",
            "base: base.yaml\n"
            "server: {request_threads: 7}\n"
            "predictors:\n"
            "  - {name: a, batching: {max_batch_size: 4}}\n"
            "  - {name: c, model: c.pt, heads: [{name: h, kind: embedding}]}\n");
  absl::StatusOr<Config> config = LoadConfig(variant, {});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server.listen, "1.2.3.4:5");  // from the base
  EXPECT_EQ(config->server.request_threads, 7);   // the variant's
  ASSERT_EQ(config->predictors.size(), 3u);
  EXPECT_EQ(config->predictors[0].name, "a");
  EXPECT_EQ(config->predictors[0].model, "a.pt");
  EXPECT_EQ(config->predictors[0].batching.max_batch_size, 4);
  EXPECT_EQ(config->predictors[0].batching.max_queue_size, 8);
  EXPECT_EQ(config->predictors[1].name, "b");
  EXPECT_EQ(config->predictors[2].name, "c");
}

TEST_F(ConfigBaseTest, OverridesApplyAfterTheBaseAndBasesNest) {
  Write("a.yaml", std::string(kMinimal) + "server: {request_threads: 3}\n");
  Write("b.yaml", "base: a.yaml\nserver: {default_deadline_ms: 1234}\n");
  const std::string c = Write("c.yaml", "base: b.yaml\n");
  absl::StatusOr<Config> config = LoadConfig(c, {"server.request_threads=5"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server.request_threads, 5);
  EXPECT_EQ(config->server.default_deadline_ms, 1234);
}

TEST_F(ConfigBaseTest, MissingBaseAndCyclesAreErrorsNamingTheFiles) {
  const std::string missing = Write("missing.yaml", "base: nowhere.yaml\n");
  absl::StatusOr<Config> a = LoadConfig(missing, {});
  EXPECT_EQ(a.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(Contains(std::string(a.status().message()), "nowhere.yaml")) << a.status();
  Write("x.yaml", "base: y.yaml\n");
  const std::string y = Write("y.yaml", "base: x.yaml\n");
  absl::StatusOr<Config> b = LoadConfig(y, {});
  EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(std::string(b.status().message()), "cycle")) << b.status();
  const std::string bad = Write("bad.yaml", "base: [1, 2]\n");
  EXPECT_EQ(LoadConfig(bad, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ConfigErrorTest, FileErrorsNameTheFile) {
  const std::string path =
      (std::filesystem::temp_directory_path() /
       ("faceserve_config_test_" + std::to_string(::getpid()) + ".yaml"))
          .string();
  {
    std::ofstream out(path);
    out << "server:\n  listen: 1.2.3.4:5\n  threads: 3\n";
  }
  absl::StatusOr<Config> result = LoadConfig(path, {});
  std::filesystem::remove(path);
  ExpectInvalid(result, {path, "unknown key 'server.threads'", "line 3"});
}

TEST(ConfigTest, TlsKeysParseAndDefaultToPlaintext) {
  absl::StatusOr<Config> config = Minimal({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server.tls.cert_file, "");
  EXPECT_EQ(config->server.tls.key_file, "");
  EXPECT_EQ(config->server.tls.client_ca_file, "");
  config = ParseConfig(std::string(kMinimal) +
                           "server:\n  tls:\n    cert_file: /etc/fs/server.pem\n"
                           "    key_file: /etc/fs/server.key\n",
                       {"server.tls.client_ca_file=/etc/fs/clients.pem"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server.tls.cert_file, "/etc/fs/server.pem");
  EXPECT_EQ(config->server.tls.key_file, "/etc/fs/server.key");
  EXPECT_EQ(config->server.tls.client_ca_file, "/etc/fs/clients.pem");
}

TEST(ConfigErrorTest, TlsCertWithoutKeyAndKeyWithoutCertNameTheMissingKey) {
  ExpectInvalid(Minimal({"server.tls.cert_file=s.pem"}),
                {"server.tls.key_file: missing", "from --set server.tls.cert_file=s.pem"});
  ExpectInvalid(Minimal({"server.tls.key_file=s.key"}), {"server.tls.cert_file: missing"});
}

TEST(ConfigErrorTest, TlsClientCaWithoutServerCertificate) {
  ExpectInvalid(Minimal({"server.tls.client_ca_file=ca.pem"}),
                {"server.tls.client_ca_file: needs server.tls.cert_file"});
}

TEST(ConfigTest, ApiKeysAreOffByDefault) {
  absl::StatusOr<Config> config = Minimal({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->auth.required);
  EXPECT_EQ(config->auth.keys_file, "");
  config = Minimal({"auth.required=true", "auth.keys_file=/etc/fs/keys.yaml",
                    "auth.keys_file_poll_ms=250"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->auth.required);
  EXPECT_EQ(config->auth.keys_file, "/etc/fs/keys.yaml");
  EXPECT_EQ(config->auth.keys_file_poll_ms, 250);
}

TEST(ConfigErrorTest, ApiKeysRequiredNeedASourceOfKeys) {
  ExpectInvalid(Minimal({"auth.required=true", "gallery.backend=none"}),
                {"auth.required: no key could ever be valid"});
  EXPECT_TRUE(Minimal({"auth.required=true", "gallery.backend=none", "auth.keys_file=k.yaml"}).ok());
  EXPECT_TRUE(Minimal({"auth.required=true"}).ok());  // keys from CreateApiKey
  ExpectInvalid(Minimal({"auth.keys_file_poll_ms=0"}), {"auth.keys_file_poll_ms"});
}

// gallery.backend: postgres (issue 33) needs its connection string; the
// follower's settings have floors.
TEST(ConfigTest, APostgresGalleryNeedsItsConnectionString) {
  ExpectInvalid(Minimal({"gallery.backend=postgres"}),
                {"gallery.postgres.dsn", "libpq connection string"});
  absl::StatusOr<Config> config =
      Minimal({"gallery.backend=postgres", "gallery.postgres.dsn=postgresql://fs@db/faceserve",
               "gallery.postgres.poll_ms=250"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->gallery.postgres.dsn, "postgresql://fs@db/faceserve");
  EXPECT_EQ(config->gallery.postgres.poll_ms, 250);
  EXPECT_EQ(config->gallery.postgres.change_retention_s, 86400);
  EXPECT_EQ(config->auth.store_poll_ms, 1000);
  ExpectInvalid(Minimal({"gallery.backend=mysql"}), {"expected sqlite, postgres or none"});
  ExpectInvalid(Minimal({"gallery.postgres.change_retention_s=1"}),
                {"gallery.postgres.change_retention_s"});
}

TEST(ConfigTest, HeadPoseIsOnByDefaultAndCanBeTurnedOff) {
  absl::StatusOr<Config> config = Minimal({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->utilizers.head_pose);
  config = Minimal({"utilizers.head_pose=false"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->utilizers.head_pose);
  ExpectInvalid(Minimal({"utilizers.pose=true"}), {"unknown key 'utilizers.pose'"});
  ExpectInvalid(Minimal({"utilizers.head_pose=sometimes"}), {"utilizers.head_pose"});
}

TEST(ConfigErrorTest, TlsUnknownKeyIsNamed) {
  ExpectInvalid(Minimal({"server.tls.ca_file=x"}), {"unknown key 'server.tls.ca_file'"});
}

}  // namespace
}  // namespace faceserve
