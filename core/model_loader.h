// ModelLoader: how core/ gets a runnable model from a file, without knowing
// the framework. Production passes core/torch's TorchScript loader; tests
// pass fakes (tests/testing/fake_models.h).
#ifndef FACESERVE_CORE_MODEL_LOADER_H_
#define FACESERVE_CORE_MODEL_LOADER_H_

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"
#include "core/model_card/model_files.h"
#include "core/model_runner.h"

namespace faceserve {

struct ModelLoader {
  using Load = std::function<absl::StatusOr<std::shared_ptr<ModelRunner>>(const std::string& path)>;

  ModelLoader() = default;
  // From any callable of Load's signature (a lambda in tests).
  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, ModelLoader>>>
  ModelLoader(F load) : load(std::move(load)) {}  // NOLINT: implicit on purpose

  // Loads the model file at `path` for the configured device.
  absl::StatusOr<std::shared_ptr<ModelRunner>> operator()(const std::string& path) const {
    return load(path);
  }

  Load load;
  // What the error for a missing model file advises (may be empty).
  MissingModelHint missing_model_hint;
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_MODEL_LOADER_H_
