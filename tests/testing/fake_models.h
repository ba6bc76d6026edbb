// FakeModels: the real FacePipeline with FakeModelRunners in place of the
// TorchScript models, for tests that need the pipeline's own checks (reader
// limits, raw geometry, predictor names, embedding sizes) without LibTorch.
//
// It writes four model cards (a detector, a 68-landmark model, a 3-class
// classifier, a 4-d embedder) to a fresh temporary directory and fills a
// Config that names them: predictors "landmarks", "expression" and
// "embedding" (verify_threshold 0.9). The fake detector finds one face at
// (0.25..0.5) of its square input with score 0.9, and a 0.2 candidate below
// the default min_score; the embedder returns each channel's mean plus a
// constant. Tests adjust `config` before CreatePipeline().
//
// Ownership: the directory is removed by the destructor; runners are shared
// with the pipeline. Not thread-safe (set up and tear down on one thread).
#ifndef FACESERVE_TESTS_TESTING_FAKE_MODELS_H_
#define FACESERVE_TESTS_TESTING_FAKE_MODELS_H_

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/config/config.h"
#include "core/pipeline/face_pipeline.h"
#include "tests/testing/fake_model_runner.h"

namespace faceserve {
namespace testing {

class FakeModels {
 public:
  FakeModels() {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("faceserve_fake_models_", ::getpid(), "_", counter++);
    std::filesystem::create_directories(dir_);
    WriteCard("det", "fake_detector", 64,
              "- {name: boxes, shape: [2, 4]}\n- {name: scores, shape: [2]}\n");
    WriteCard("lm", "fake_landmarks", 32, "- {name: points, shape: [136]}\n");
    WriteCard("cls", "fake_classifier", 16, "- {name: logits, shape: [3], labels: [a, b, c]}\n");
    WriteCard("emb", "fake_embedder", 16, "- {name: embedding, shape: [4]}\n");
    for (const char* name : {"det", "lm", "cls", "emb"}) {
      std::ofstream(dir_ / (std::string(name) + ".pt")) << "fake";
      runners[name] = std::make_shared<FakeModelRunner>();
    }
    runners["det"]->SetOutputFn([](const Tensor& t) { return Detections(t); });
    runners["lm"]->SetOutputFn([](const Tensor& t) { return Landmarks(t); });
    runners["cls"]->SetOutputFn([](const Tensor& t) { return Logits(t); });
    runners["emb"]->SetOutputFn([](const Tensor& t) { return Embedding(t); });

    config.models_dir = dir_.string();
    config.server.request_threads = 2;
    config.detector.model = "det.pt";
    config.detector.batching.max_queue_delay_us = 0;
    PredictorConfig lm;
    lm.name = "landmarks";
    lm.model = "lm.pt";
    lm.heads.push_back(HeadConfig{});
    lm.heads[0].name = "landmarks_68";
    lm.heads[0].kind = HeadKind::kLandmarks;
    PredictorConfig cls;
    cls.name = "expression";
    cls.model = "cls.pt";
    cls.crop.box = CropConfig::BoxSource::kLandmarks;
    cls.heads.push_back(HeadConfig{});
    cls.heads[0].name = "expression";
    PredictorConfig emb;
    emb.name = "embedding";
    emb.model = "emb.pt";
    emb.crop.method = CropConfig::Method::kSimilarity;
    emb.verify_threshold = 0.9f;
    emb.heads.push_back(HeadConfig{});
    emb.heads[0].name = "embedding";
    emb.heads[0].kind = HeadKind::kEmbedding;
    for (PredictorConfig* p : {&lm, &cls, &emb}) p->batching.max_queue_delay_us = 0;
    config.predictors = {lm, cls, emb};
  }
  ~FakeModels() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  FakeModels(const FakeModels&) = delete;
  FakeModels& operator=(const FakeModels&) = delete;

  // Loads the fakes named by `config` (by file stem) and preheats.
  absl::StatusOr<std::unique_ptr<FacePipeline>> CreatePipeline() {
    absl::StatusOr<std::unique_ptr<FacePipeline>> p = FacePipeline::Create(config, Loader());
    if (!p.ok()) return p.status();
    if (absl::Status s = (*p)->Preheat(); !s.ok()) return s;
    return p;
  }

  ModelLoader Loader() {
    return [this](const std::string& path) -> absl::StatusOr<std::shared_ptr<ModelRunner>> {
      const std::string stem = std::filesystem::path(path).stem().string();
      auto it = runners.find(stem);
      if (it == runners.end()) return absl::NotFoundError("no fake model " + path);
      return std::shared_ptr<ModelRunner>(it->second);
    };
  }

  // Where the cards (<stem>.yaml) and placeholder .pt files are.
  const std::filesystem::path& dir() const { return dir_; }

  Config config;
  std::map<std::string, std::shared_ptr<FakeModelRunner>> runners;

  // The size of the fake embedder's output.
  static constexpr int kEmbeddingSize = 4;

 private:
  void WriteCard(const std::string& file, const std::string& name, int size,
                 const std::string& outputs) {
    std::ofstream out(dir_ / (file + ".yaml"));
    out << "name: " << name << "\nversion: test-1\ntask: test\ninput:\n  shape: [3, " << size
        << ", " << size << "]\n  letterbox: top_left\noutputs:\n"
        << outputs;
  }

  static std::vector<Tensor> Detections(const Tensor& input) {
    const int64_t n = input.shape[0];
    Tensor boxes({n, 2, 4});
    Tensor scores({n, 2});
    for (int64_t i = 0; i < n; ++i) {
      const float b[8] = {0.25f, 0.25f, 0.5f, 0.5f, 0.6f, 0.6f, 0.9f, 0.9f};
      std::copy(b, b + 8, boxes.data.begin() + i * 8);
      scores.data[i * 2] = 0.9f;
      scores.data[i * 2 + 1] = 0.2f;
    }
    return {boxes, scores};
  }
  static std::vector<Tensor> Landmarks(const Tensor& input) {
    const int64_t n = input.shape[0];
    Tensor out({n, 136});
    for (int64_t i = 0; i < n; ++i) {
      for (int p = 0; p < 68; ++p) {
        out.data[i * 136 + p * 2] = 0.2f + 0.6f * (p % 9) / 8.0f;
        out.data[i * 136 + p * 2 + 1] = 0.2f + 0.6f * (p / 9) / 7.0f;
      }
    }
    return {out};
  }
  static std::vector<Tensor> Logits(const Tensor& input) {
    const int64_t n = input.shape[0];
    Tensor out({n, 3});
    for (int64_t i = 0; i < n; ++i) {
      out.data[i * 3 + 1] = 2;
      out.data[i * 3 + 2] = 1;
    }
    return {out};
  }
  static std::vector<Tensor> Embedding(const Tensor& input) {
    const int64_t n = input.shape[0];
    const int64_t plane = input.shape[2] * input.shape[3];
    Tensor out({n, kEmbeddingSize});
    for (int64_t i = 0; i < n; ++i) {
      for (int c = 0; c < 3; ++c) {
        double sum = 0;
        for (int64_t j = 0; j < plane; ++j) sum += input.data[(i * 3 + c) * plane + j];
        out.data[i * kEmbeddingSize + c] = static_cast<float>(sum / plane);
      }
      out.data[i * kEmbeddingSize + 3] = 10;
    }
    return {out};
  }

  std::filesystem::path dir_;
};

}  // namespace testing
}  // namespace faceserve

#endif  // FACESERVE_TESTS_TESTING_FAKE_MODELS_H_
