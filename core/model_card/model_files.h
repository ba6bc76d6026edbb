// Where a configured model's files are (the TorchScript file and its card
// beside it), and the error an operator sees when one is missing: which
// model, the absolute path looked at, and the command that produces it.
#ifndef FACESERVE_CORE_MODEL_CARD_MODEL_FILES_H_
#define FACESERVE_CORE_MODEL_CARD_MODEL_FILES_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"

namespace faceserve {

struct ModelFiles {
  std::string model_path;  // <models_dir>/<file>
  std::string card_path;   // the same path with the extension ".yaml"
};

// How to produce a missing model, for the error message: given the models
// folder and the model's stem (e.g. "retinaface_mnet025"). The server passes
// the repository's export command; core/ knows no exporter or interpreter.
using MissingModelHint =
    std::function<std::string(const std::string& models_dir, const std::string& stem)>;

// Resolves `file` (relative: to `models_dir`, itself relative to the working
// directory) and checks that the model and its card exist. NOT_FOUND when
// either is missing, with a message that starts with `role` (e.g. "detector")
// and names the absolute path, then `hint`'s advice (when set) and what a
// model of one's own needs.
absl::StatusOr<ModelFiles> LocateModelFiles(const std::string& models_dir, const std::string& file,
                                            const std::string& role,
                                            const MissingModelHint& hint = nullptr);

}  // namespace faceserve

#endif  // FACESERVE_CORE_MODEL_CARD_MODEL_FILES_H_
