// model_limit: what the models alone can do on this machine, without the
// server. For the detector and every predictor of a faceserve config, it runs
// the exported TorchScript model at each batch size (same loader, device and
// intra-op threads as the server) and reports the time per item. From those
// it derives the two reference figures the benchmark compares the server to:
//
//   raw limit (images/s)   = 1 / (detector's best time per image
//                                 + faces_per_image * sum over predictors of
//                                   the predictor's best time per face)
//   model time of one image = detector at batch 1
//                             + sum over predictors of one batch of
//                               round(faces_per_image) faces
//
// On CPU it runs as many streams at once as the server runs forward passes
// (cores / device.intra_op_threads); "ms per item" is wall time per item with
// all streams busy, "ms per batch" the latency of one batch on one stream.
//
// Inputs are constant tensors: these convolutional networks take the same
// time whatever the pixels. Decoding, cropping and NMS are not counted (they
// are the server's overhead, which the benchmark measures).
//
//   model_limit --config config/default.yaml [--set key=value]...
//               [--faces-per-image 3.67] [--seconds-per-point 2] [--json]
#include <algorithm>
#include <atomic>
#include <thread>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "core/cpu_run_slots.h"
#include "core/config/config.h"
#include "core/model_card/model_card.h"
#include "core/model_card/model_files.h"
#include "core/torch/torch_model_loader.h"

namespace faceserve {
namespace {

struct Point {
  int batch = 0;
  double ms_per_batch = 0;  // one stream: the latency of one batch
  double ms_per_item = 0;   // `streams` streams at once: wall time per item
};

struct ModelResult {
  std::string role;  // "detector" or the predictor's name
  std::string model;
  std::vector<Point> points;
  const Point& best() const {
    return *std::min_element(points.begin(), points.end(), [](const Point& a, const Point& b) {
      return a.ms_per_item < b.ms_per_item;
    });
  }
  double ms_at(int batch) const {
    for (const Point& p : points) {
      if (p.batch == batch) return p.ms_per_batch;
    }
    return NAN;
  }
};

int Fail(const absl::Status& s) {
  std::cerr << "model_limit: " << s << "\n";
  return 1;
}

absl::StatusOr<ModelResult> Measure(const Config& config, const ModelLoader& loader,
                                    const std::string& role, const std::string& model,
                                    int max_batch, double seconds_per_point, int streams) {
  absl::StatusOr<ModelFiles> files = LocateModelFiles(config.models_dir, model, role);
  if (!files.ok()) return files.status();
  absl::StatusOr<ModelCard> card = LoadModelCard(files->card_path);
  if (!card.ok()) return card.status();
  absl::StatusOr<std::shared_ptr<ModelRunner>> runner = loader(files->model_path);
  if (!runner.ok()) return runner.status();
  ModelResult result{role, card->name, {}};
  std::vector<int> batches;
  for (int b = 1; b <= max_batch; b *= 2) batches.push_back(b);
  if (batches.back() != max_batch) batches.push_back(max_batch);
  for (int b : batches) {
    std::vector<int64_t> shape{b};
    shape.insert(shape.end(), card->input_shape.begin(), card->input_shape.end());
    const Tensor input(shape, std::vector<float>(Tensor::NumElements(shape), 128.0f));
    // Warm-up: LibTorch optimises the graph on the first runs of a new shape.
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<std::vector<Tensor>> out = (*runner)->Run(input);
      if (!out.ok()) return out.status();
    }
    // `n` streams calling Run() back to back; returns {runs, seconds}.
    auto run_streams = [&](int n) -> absl::StatusOr<std::pair<int, double>> {
      std::atomic<int> runs{0};
      std::atomic<bool> failed{false};
      const auto start = std::chrono::steady_clock::now();
      auto seconds = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      };
      std::vector<std::thread> threads;
      for (int t = 0; t < n; ++t) {
        threads.emplace_back([&] {
          while (!failed && (runs < 3 * n || seconds() < seconds_per_point)) {
            if (!(*runner)->Run(input).ok()) failed = true;
            ++runs;
          }
        });
      }
      for (std::thread& t : threads) t.join();
      if (failed) return absl::InternalError("a run failed");
      return std::make_pair(runs.load(), seconds());
    };
    auto single = run_streams(1);
    if (!single.ok()) return single.status();
    auto parallel = streams > 1 ? run_streams(streams) : single;
    if (!parallel.ok()) return parallel.status();
    result.points.push_back(Point{b, single->second * 1000 / single->first,
                                  parallel->second * 1000 / (parallel->first * b)});
    std::cerr << absl::StrFormat("%-20s batch %2d: %8.2f ms per batch, %7.2f ms per item (all streams)\n",
                                 card->name, b, result.points.back().ms_per_batch,
                                 result.points.back().ms_per_item);
  }
  return result;
}

int Main(int argc, char** argv) {
  std::string config_path = "config/default.yaml";
  std::vector<std::string> overrides;
  double faces_per_image = 22.0 / 6;  // face-api's six demo photos
  double seconds_per_point = 2;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "model_limit: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--config") config_path = value();
    else if (a == "--set") overrides.push_back(value());
    else if (a == "--faces-per-image") faces_per_image = std::stod(value());
    else if (a == "--seconds-per-point") seconds_per_point = std::stod(value());
    else if (a == "--json") json = true;
    else {
      std::cerr << "usage: model_limit [--config F] [--set k=v]... [--faces-per-image X] "
                   "[--seconds-per-point S] [--json]\n";
      return 2;
    }
  }
  absl::StatusOr<Config> config = LoadConfig(config_path, overrides);
  if (!config.ok()) return Fail(config.status());
  const std::unique_ptr<CpuRunSlots> cpu_slots = MakeCpuRunSlots(config->device);
  const ModelLoader loader = MakeTorchModelLoader(config->device, cpu_slots.get());
  // As in the server: on CPU, cores / intra-op threads forward passes at once.
  const int cores = static_cast<int>(AllowedCpus().size());
  const int threads = config->device.intra_op_threads > 0 ? config->device.intra_op_threads : cores;
  const int streams =
      ResolveTorchDevice(config->device) == "cpu" ? std::max(1, cores / threads) : 1;
  std::cerr << "streams: " << streams << " (" << threads << " intra-op threads each)\n";

  std::vector<ModelResult> results;
  auto detector = Measure(*config, loader, "detector", config->detector.model,
                          std::max(config->detector.batching.max_batch_size, 8),
                          seconds_per_point, streams);
  if (!detector.ok()) return Fail(detector.status());
  results.push_back(*detector);
  for (const PredictorConfig& p : config->predictors) {
    auto r = Measure(*config, loader, p.name, p.model, std::max(p.batching.max_batch_size, 16),
                     seconds_per_point, streams);
    if (!r.ok()) return Fail(r.status());
    results.push_back(*r);
  }

  const int faces_batch = std::max(1, static_cast<int>(std::lround(faces_per_image)));
  double per_image_best_ms = results[0].best().ms_per_item;
  double one_image_ms = results[0].ms_at(1);
  for (size_t i = 1; i < results.size(); ++i) {
    per_image_best_ms += faces_per_image * results[i].best().ms_per_item;
    // The batch size just at or above the faces of one image.
    double at = results[i].ms_at(faces_batch);
    if (std::isnan(at)) {
      for (const Point& p : results[i].points) {
        if (p.batch >= faces_batch) {
          at = p.ms_per_batch / p.batch * faces_batch;
          break;
        }
      }
    }
    one_image_ms += at;
  }
  const double raw_limit = 1000.0 / per_image_best_ms;
  if (json) {
    std::cout << "{\"device\": \"" << ResolveTorchDevice(config->device) << "\", \"streams\": "
              << streams << ", \"intra_op_threads\": " << threads << ", \"torch\": \""
              << TorchVersion() << "\", \"faces_per_image\": " << faces_per_image
              << ", \"raw_limit_images_per_s\": " << raw_limit
              << ", \"model_time_one_image_ms\": " << one_image_ms << ", \"models\": [";
    for (size_t i = 0; i < results.size(); ++i) {
      const ModelResult& r = results[i];
      std::cout << (i ? ", " : "") << "{\"role\": \"" << r.role << "\", \"model\": \"" << r.model
                << "\", \"best_batch\": " << r.best().batch
                << ", \"best_ms_per_item\": " << r.best().ms_per_item << ", \"points\": [";
      for (size_t j = 0; j < r.points.size(); ++j) {
        std::cout << (j ? ", " : "") << "{\"batch\": " << r.points[j].batch
                  << ", \"ms_per_batch\": " << r.points[j].ms_per_batch
                  << ", \"ms_per_item_all_streams\": " << r.points[j].ms_per_item << "}";
      }
      std::cout << "]}";
    }
    std::cout << "]}\n";
  } else {
    for (const ModelResult& r : results) {
      std::cout << absl::StrFormat("%-12s %-20s best batch %2d: %7.2f ms per item\n", r.role,
                                   r.model, r.best().batch, r.best().ms_per_item);
    }
    std::cout << absl::StrFormat(
        "faces per image %.2f: raw limit %.2f images/s; model time of one image %.1f ms\n",
        faces_per_image, raw_limit, one_image_ms);
  }
  return 0;
}

}  // namespace
}  // namespace faceserve

int main(int argc, char** argv) { return faceserve::Main(argc, argv); }
