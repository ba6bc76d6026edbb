// CallContext: what the transport tells the pipeline about one call.
#ifndef FACESERVE_CORE_PIPELINE_CALL_CONTEXT_H_
#define FACESERVE_CORE_PIPELINE_CALL_CONTEXT_H_

#include <functional>

#include "absl/time/time.h"

namespace faceserve {

struct CallContext {
  absl::Time deadline = absl::InfiniteFuture();
  std::function<bool()> is_cancelled;  // may be empty
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_PIPELINE_CALL_CONTEXT_H_
