// Clock::Real(): absl::Now() and absl::CondVar's own deadline wait.
#include "core/batching/clock.h"

namespace faceserve {
namespace {

// Thread-safety: stateless, safe for concurrent use.
class RealClock final : public Clock {
 public:
  absl::Time Now() override { return absl::Now(); }
  bool WaitUntil(absl::CondVar* cv, absl::Mutex* mu, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) override {
    return cv->WaitWithDeadline(mu, deadline);
  }
};

}  // namespace

Clock* Clock::Real() {
  static Clock* const clock = new RealClock();  // never destroyed
  return clock;
}

}  // namespace faceserve
