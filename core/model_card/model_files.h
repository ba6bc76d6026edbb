// Where a configured model's files are (the TorchScript file and its card
// beside it), and the error an operator sees when one is missing: which
// model, the absolute path looked at, and the command that produces it.
#ifndef FACESERVE_CORE_MODEL_CARD_MODEL_FILES_H_
#define FACESERVE_CORE_MODEL_CARD_MODEL_FILES_H_

#include <string>

#include "absl/status/statusor.h"

namespace faceserve {

struct ModelFiles {
  std::string model_path;  // <models_dir>/<file>
  std::string card_path;   // the same path with the extension ".yaml"
};

// Resolves `file` (relative: to `models_dir`, itself relative to the working
// directory) and checks that the model and its card exist. NOT_FOUND when
// either is missing, with a message that starts with `role` (e.g. "detector")
// and names the absolute path and the export command for that model.
absl::StatusOr<ModelFiles> LocateModelFiles(const std::string& models_dir,
                                            const std::string& file, const std::string& role);

}  // namespace faceserve

#endif  // FACESERVE_CORE_MODEL_CARD_MODEL_FILES_H_
