// The real faceserve binary started on a configuration whose model files are
// not there: it must not serve half a pipeline. It exits 1 at start-up, and
// its log says which model is missing, where it looked and the command that
// exports it.
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/server_process.h"

namespace faceserve {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::ServerProcess;

const std::string kSourceDir = FACESERVE_SOURCE_DIR;

class FaceserveMissingModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    models_ = fs::temp_directory_path() / ("faceserve_missing_model_" + std::to_string(getpid()));
    fs::remove_all(models_);
    fs::create_directories(models_);
  }
  void TearDown() override { fs::remove_all(models_); }

  // Starts faceserve on config/default.yaml with `overrides`; returns its log
  // once it has exited (the test fails if it is still running after 60 s).
  std::string RunUntilExit(const std::vector<std::string>& overrides, int* exit_code) {
    std::vector<std::string> args{FACESERVE_BINARY, "--config", kSourceDir + "/config/default.yaml",
                                  "--set", "server.listen=127.0.0.1:0", "--set", "metrics.listen=",
                                  "--set", "http.listen=",
                                  "--set", "device.device=cpu"};
    for (const std::string& o : overrides) {
      args.push_back("--set");
      args.push_back(o);
    }
    ServerProcess server(args);
    EXPECT_GT(server.pid(), 0);
    EXPECT_TRUE(server.Exited(absl::Seconds(60))) << server.log();
    *exit_code = WIFEXITED(server.wait_status()) ? WEXITSTATUS(server.wait_status()) : -1;
    return server.log();
  }

  fs::path models_;
};

TEST_F(FaceserveMissingModelTest, AnEmptyModelsDirNamesTheDetectorAndTheExportCommand) {
  int code = 0;
  const std::string log = RunUntilExit(
      {"models_dir=" + models_.string(), "detector.model=retinaface_mnet025.pt"}, &code);
  EXPECT_EQ(code, 1) << log;
  EXPECT_THAT(log, HasSubstr("detector: model file not found: " +
                             (models_ / "retinaface_mnet025.pt").string()));
  EXPECT_THAT(log, HasSubstr("/usr/bin/python3 models/export.py --out " + models_.string() +
                             " --only retinaface_mnet025"));
  EXPECT_THAT(log, ::testing::Not(HasSubstr("gRPC listening")));
}

TEST_F(FaceserveMissingModelTest, AMissingPredictorModelIsNamedByItsPredictor) {
  int code = 0;
  const std::string log = RunUntilExit({"models_dir=" + kSourceDir + "/models/exported",
                                        "device.preheat=false",
                                        "predictors.1.model=no_such_expression_net.pt"},
                                       &code);
  EXPECT_EQ(code, 1) << log;
  EXPECT_THAT(log, HasSubstr("predictors.1 (expression): model file not found: " +
                             (fs::path(kSourceDir) / "models/exported/no_such_expression_net.pt")
                                 .lexically_normal()
                                 .string()));
  EXPECT_THAT(log, HasSubstr("--only no_such_expression_net"));
}

TEST_F(FaceserveMissingModelTest, AModelWithoutItsCardIsNamed) {
  fs::copy_file(fs::path(kSourceDir) / "models/exported/retinaface_mnet025.pt",
                models_ / "retinaface_mnet025.pt");
  int code = 0;
  const std::string log = RunUntilExit(
      {"models_dir=" + models_.string(), "detector.model=retinaface_mnet025.pt"}, &code);
  EXPECT_EQ(code, 1) << log;
  EXPECT_THAT(log, HasSubstr("detector: model card not found: " +
                             (models_ / "retinaface_mnet025.yaml").string()));
}

}  // namespace
}  // namespace faceserve
