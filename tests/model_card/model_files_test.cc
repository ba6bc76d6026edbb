// LocateModelFiles: where a configured model is looked for, and what the
// operator is told when its file or its card is missing.
#include "core/model_card/model_files.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faceserve {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class ModelFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("model_files_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Touch(const std::string& name) { std::ofstream(dir_ / name) << "x"; }

  fs::path dir_;
};

TEST_F(ModelFilesTest, FindsTheModelAndItsCardInModelsDir) {
  Touch("net.pt");
  Touch("net.yaml");
  absl::StatusOr<ModelFiles> files = LocateModelFiles(dir_.string(), "net.pt", "detector");
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(files->model_path, (dir_ / "net.pt").string());
  EXPECT_EQ(files->card_path, (dir_ / "net.yaml").string());
}

TEST_F(ModelFilesTest, AnAbsoluteModelPathIgnoresModelsDir) {
  Touch("net.pt");
  Touch("net.yaml");
  absl::StatusOr<ModelFiles> files =
      LocateModelFiles("/nonexistent/models", (dir_ / "net.pt").string(), "detector");
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(files->model_path, (dir_ / "net.pt").string());
}

// The caller's hint (the server passes the export command; core/ names no
// exporter), with the models folder and the model's stem.
std::string TestHint(const std::string& models_dir, const std::string& stem) {
  return "export with: make-model --out " + models_dir + " --only " + stem;
}

TEST_F(ModelFilesTest, AMissingModelNamesTheRoleThePathAndTheCallersHint) {
  absl::StatusOr<ModelFiles> files =
      LocateModelFiles(dir_.string(), "retinaface_mnet025.pt", "detector", TestHint);
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), absl::StatusCode::kNotFound);
  const std::string message(files.status().message());
  EXPECT_THAT(message, StartsWith("detector: model file not found: " +
                                  (dir_ / "retinaface_mnet025.pt").string()));
  EXPECT_THAT(message, HasSubstr("export with: make-model --out " + dir_.string() +
                                 " --only retinaface_mnet025"));
  EXPECT_THAT(message, HasSubstr("retinaface_mnet025.yaml"));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("python")));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("does not exist")));
}

TEST_F(ModelFilesTest, AMissingModelsDirIsSaidSo) {
  const fs::path missing = dir_ / "exported";
  absl::StatusOr<ModelFiles> files =
      LocateModelFiles(missing.string(), "face_recognition.pt", "predictors.3 (embedding)");
  ASSERT_FALSE(files.ok());
  EXPECT_THAT(std::string(files.status().message()),
              HasSubstr("predictors.3 (embedding): model file not found: " +
                        (missing / "face_recognition.pt").string() + " (the folder " +
                        missing.string() + " does not exist)"));
}

TEST_F(ModelFilesTest, AMissingCardIsNamedWithTheCommandThatWritesIt) {
  Touch("hm_emotion.pt");
  absl::StatusOr<ModelFiles> files =
      LocateModelFiles(dir_.string(), "hm_emotion.pt", "predictors.1 (emotion)", TestHint);
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), absl::StatusCode::kNotFound);
  const std::string message(files.status().message());
  EXPECT_THAT(message, StartsWith("predictors.1 (emotion): model card not found: " +
                                  (dir_ / "hm_emotion.yaml").string()));
  EXPECT_THAT(message, HasSubstr("--only hm_emotion"));
}

TEST_F(ModelFilesTest, AFolderNamedLikeTheModelIsNotAModel) {
  fs::create_directories(dir_ / "net.pt");
  Touch("net.yaml");
  EXPECT_EQ(LocateModelFiles(dir_.string(), "net.pt", "detector").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ModelFilesTest, NoModelSetIsAConfigurationError) {
  EXPECT_EQ(LocateModelFiles(dir_.string(), "", "detector").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace faceserve
