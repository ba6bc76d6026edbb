#include "core/model_card/model_files.h"

#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/model_card/model_card.h"

namespace faceserve {
namespace {

namespace fs = std::filesystem;

std::string Absolute(const fs::path& path) {
  std::error_code ec;
  const fs::path abs = fs::absolute(path, ec);
  return (ec ? path : abs).lexically_normal().string();
}

// How to produce the files: the caller's advice for the models it ships,
// then what a model of one's own needs.
std::string HowToProduce(const std::string& models_dir, const fs::path& model_path,
                         const MissingModelHint& hint) {
  const std::string stem = model_path.stem().string();
  std::string advice = hint ? hint(models_dir.empty() ? "." : models_dir, stem) : "";
  if (!advice.empty()) advice += "; ";
  return absl::StrCat(advice, "a model of your own needs its TorchScript file and its card ", stem,
                      ".yaml there (README, \"Your own predictor\")");
}

}  // namespace

absl::StatusOr<ModelFiles> LocateModelFiles(const std::string& models_dir, const std::string& file,
                                            const std::string& role, const MissingModelHint& hint) {
  if (file.empty()) return absl::InvalidArgumentError(absl::StrCat(role, ": no model file set"));
  const fs::path model_path =
      fs::path(file).is_absolute() || models_dir.empty() ? fs::path(file) : fs::path(models_dir) / file;
  ModelFiles files{model_path.string(), ModelCardPathFor(model_path.string())};
  std::error_code ec;
  if (!fs::is_regular_file(model_path, ec)) {
    std::string where = absl::StrCat("model file not found: ", Absolute(model_path));
    const fs::path dir = model_path.parent_path();
    if (!dir.empty() && !fs::is_directory(dir, ec)) {
      absl::StrAppend(&where, " (the folder ", Absolute(dir), " does not exist)");
    }
    return absl::NotFoundError(
        absl::StrCat(role, ": ", where, ". ", HowToProduce(models_dir, model_path, hint)));
  }
  if (!fs::is_regular_file(files.card_path, ec)) {
    return absl::NotFoundError(
        absl::StrCat(role, ": model card not found: ", Absolute(files.card_path),
                     " (the exporter writes it beside ", model_path.filename().string(), "). ",
                     HowToProduce(models_dir, model_path, hint)));
  }
  return files;
}

}  // namespace faceserve
