// The multi-label and regression predictor slots that action-unit (AU) and
// valence-arousal (VA) models plug into, end to end. No trained AU or VA
// weights can be had here, so the test builds two small TorchScript models
// with known weights itself, writes their model cards, and adds them to
// config/default.yaml with nothing but configuration (--set keys, as a user
// adds a YAML block). A real server with the real detector then analyses a
// real photo over gRPC, and every AU probability, active label and VA value
// must equal what the test computes from the same face crop.
//
// The models: m = per-channel mean of the 64x64 RGB crop / 255;
//   AU: logits = m . W_au + b_au  (12 labels; the head applies the sigmoid)
//   VA: tanh(m . W_va + b_va)     (valence, arousal in [-1, 1])
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <torch/script.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/config/config.h"
#include "core/pipeline/face_pipeline.h"
#include "core/reader/image_reader.h"
#include "core/torch/torch_model_loader.h"
#include "core/unifier/face_crop.h"
#include "faceserve/v1/face_service.grpc.pb.h"
#include "server/face_server.h"
#include "server/metrics.h"

namespace faceserve {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = FACESERVE_SOURCE_DIR;
const fs::path kDemo = kSource / "models/reference/node_modules/@vladmandic/face-api/demo";
constexpr int kCrop = 64;
const std::vector<std::string> kAuLabels = {"AU01", "AU02", "AU04", "AU06", "AU07", "AU10",
                                            "AU12", "AU14", "AU15", "AU17", "AU23", "AU24"};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Known weights: W[c][k] and b[k], varied so that every output differs.
std::vector<std::array<double, 3>> Weights(int outputs, double scale) {
  std::vector<std::array<double, 3>> w(outputs);
  for (int k = 0; k < outputs; ++k) {
    for (int c = 0; c < 3; ++c) w[k][c] = scale * std::sin(1.7 * k + 2.3 * c + 0.5);
  }
  return w;
}
std::vector<double> Biases(int outputs) {
  std::vector<double> b(outputs);
  for (int k = 0; k < outputs; ++k) b[k] = 0.4 * std::cos(0.9 * k);
  return b;
}

// Saves a TorchScript module computing `body` on m (the mean RGB / 255).
void SaveModel(const fs::path& path, const std::vector<std::array<double, 3>>& w,
               const std::vector<double>& b, const std::string& body) {
  const int outputs = static_cast<int>(b.size());
  torch::Tensor weight = torch::empty({3, outputs});
  torch::Tensor bias = torch::empty({outputs});
  for (int k = 0; k < outputs; ++k) {
    for (int c = 0; c < 3; ++c) weight[c][k] = w[k][c];
    bias[k] = b[k];
  }
  torch::jit::Module module("SlotTestModel");
  module.register_parameter("weight", weight, /*is_buffer=*/false);
  module.register_parameter("bias", bias, /*is_buffer=*/false);
  module.define(
      "def forward(self, x):\n"
      "    m = x.mean(dim=[2, 3]) / 255.0\n"
      "    return " + body + "\n");
  module.eval();
  module.save(path.string());
}

void WriteCard(const fs::path& path, const std::string& name, const std::string& outputs) {
  std::ofstream(path) << "name: " << name << "\nversion: test-1\ntask: test\ninput:\n  shape: [3, "
                      << kCrop << ", " << kCrop
                      << "]\n  color: rgb\n  range: [0, 255]\n  letterbox: top_left\noutputs:\n"
                      << outputs;
}

TEST(CustomPredictorTest, ActionUnitAndValenceArousalSlotsComputeWhatTheModelsDo) {
  const fs::path dir = fs::temp_directory_path() / absl::StrCat("faceserve_slots_", getpid());
  fs::create_directories(dir);
  const auto w_au = Weights(12, 3.0), w_va = Weights(2, 2.0);
  const auto b_au = Biases(12), b_va = Biases(2);
  SaveModel(dir / "au_test.pt", w_au, b_au, "torch.matmul(m, self.weight) + self.bias");
  SaveModel(dir / "va_test.pt", w_va, b_va, "torch.tanh(torch.matmul(m, self.weight) + self.bias)");
  WriteCard(dir / "au_test.yaml", "au_test", "- {name: au_logits, shape: [12]}\n");
  WriteCard(dir / "va_test.yaml", "va_test", "- {name: valence_arousal, shape: [2]}\n");

  // The two YAML blocks a user adds, as --set overrides on the default file.
  std::string labels = "[";
  for (size_t i = 0; i < kAuLabels.size(); ++i) labels += (i ? ", " : "") + kAuLabels[i];
  labels += "]";
  const std::vector<std::string> overrides = {
      "server.listen=127.0.0.1:0", "metrics.listen=", "device.device=cpu",
      "models_dir=" + (kSource / "models/exported").string(),
      "predictors.4.name=action_units", "predictors.4.model=" + (dir / "au_test.pt").string(),
      "predictors.4.crop.size=" + std::to_string(kCrop),
      "predictors.4.heads.0.name=au", "predictors.4.heads.0.kind=multi_label",
      "predictors.4.heads.0.labels=" + labels, "predictors.4.heads.0.threshold=0.5",
      "predictors.5.name=valence_arousal", "predictors.5.model=" + (dir / "va_test.pt").string(),
      "predictors.5.heads.0.name=va", "predictors.5.heads.0.kind=regression",
      "predictors.5.heads.0.value_names=[valence, arousal]"};
  absl::StatusOr<Config> config = LoadConfig((kSource / "config/default.yaml").string(), overrides);
  ASSERT_TRUE(config.ok()) << config.status();
  std::unique_ptr<Metrics> metrics = Metrics::Create();
  std::unique_ptr<CpuRunSlots> slots = MakeCpuRunSlots(config->device);
  auto pipeline = FacePipeline::Create(*config, MakeTorchModelLoader(config->device, slots.get()),
                                       metrics.get(), metrics.get());
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  ASSERT_TRUE((*pipeline)->Preheat().ok());
  auto server = FaceServer::Start(*config, pipeline->get(), metrics.get());
  ASSERT_TRUE(server.ok()) << server.status();
  (*server)->SetServing(true);
  auto stub = v1::FaceService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", (*server)->port()), grpc::InsecureChannelCredentials()));

  const std::string jpeg = ReadFile(kDemo / "sample3.jpg");
  v1::AnalyzeRequest request;
  request.mutable_image()->set_encoded(jpeg);
  request.mutable_options()->add_predictors("action_units");
  request.mutable_options()->add_predictors("valence_arousal");
  v1::AnalyzeResponse response;
  grpc::ClientContext ctx;
  grpc::Status status = stub->Analyze(&ctx, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_GE(response.faces_size(), 2);

  // The crops the models saw, made here the way the unifier makes them.
  ImageInput input;
  input.encoded = jpeg;
  absl::StatusOr<cv::Mat> image = ReadImage(input, ReaderLimits{});
  ASSERT_TRUE(image.ok()) << image.status();
  int active_total = 0;
  std::vector<double> valences;
  for (const v1::Face& face : response.faces()) {
    const Box box{face.box().x1(), face.box().y1(), face.box().x2(), face.box().y2()};
    absl::StatusOr<FaceCrop> crop = CropBoxToSquare(*image, box, kCrop);
    ASSERT_TRUE(crop.ok()) << crop.status();
    const cv::Scalar mean = cv::mean(crop->rgb);
    const double m[3] = {mean[0] / 255.0, mean[1] / 255.0, mean[2] / 255.0};
    ASSERT_EQ(face.predictions_size(), 2);

    const v1::Prediction& au = face.predictions(0);
    EXPECT_EQ(au.predictor(), "action_units");
    EXPECT_EQ(au.model(), "au_test");
    ASSERT_EQ(au.outputs_size(), 1);
    const v1::MultiLabel& labels = au.outputs(0).multi_label();
    ASSERT_EQ(labels.scores_size(), 12);
    std::vector<std::string> want_active;
    for (int k = 0; k < 12; ++k) {
      const double logit = m[0] * w_au[k][0] + m[1] * w_au[k][1] + m[2] * w_au[k][2] + b_au[k];
      const double p = 1.0 / (1.0 + std::exp(-logit));
      EXPECT_EQ(labels.scores(k).label(), kAuLabels[k]);
      EXPECT_NEAR(labels.scores(k).score(), p, 1e-5) << kAuLabels[k];
      if (p >= 0.5) want_active.push_back(kAuLabels[k]);
    }
    EXPECT_EQ(std::vector<std::string>(labels.active_labels().begin(), labels.active_labels().end()),
              want_active);
    active_total += labels.active_labels_size();

    const v1::Prediction& va = face.predictions(1);
    EXPECT_EQ(va.predictor(), "valence_arousal");
    const v1::Regression& values = va.outputs(0).regression();
    ASSERT_EQ(values.values_size(), 2);
    for (int k = 0; k < 2; ++k) {
      const double want =
          std::tanh(m[0] * w_va[k][0] + m[1] * w_va[k][1] + m[2] * w_va[k][2] + b_va[k]);
      EXPECT_EQ(values.values(k).name(), k == 0 ? "valence" : "arousal");
      EXPECT_NEAR(values.values(k).value(), want, 1e-5);
    }
    valences.push_back(values.values(0).value());
  }
  std::printf("%d faces: %d of %d action-unit labels active\n", response.faces_size(),
              active_total, 12 * response.faces_size());
  // The weights make some labels active and some not, and faces differ.
  EXPECT_GT(active_total, 0);
  EXPECT_LT(active_total, 12 * response.faces_size());
  EXPECT_NE(valences.front(), valences.back());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace faceserve
