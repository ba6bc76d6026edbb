#include "server/stream_registry.h"

#include <algorithm>

#include "server/analyze_stream.h"

namespace faceserve {

StreamRegistry::StreamRegistry(absl::Duration idle_timeout)
    : idle_timeout_(idle_timeout), sweeper_([this] { Sweep(); }) {}

StreamRegistry::~StreamRegistry() {
  {
    absl::MutexLock lock(&mu_);
    closing_ = true;
  }
  sweeper_.join();
}

void StreamRegistry::Sweep() {
  // Often enough that a stream ends within a quarter of its timeout late.
  const absl::Duration period =
      std::clamp(idle_timeout_ / 4, absl::Milliseconds(10), absl::Seconds(1));
  absl::MutexLock lock(&mu_);
  while (!mu_.AwaitWithTimeout(absl::Condition(&closing_), period)) {
    const absl::Time now = absl::Now();
    // Under the lock, as StopAll: each stream here is alive.
    for (AnalyzeStream* s : streams_) s->StopIfIdle(now, idle_timeout_);
  }
}

void StreamRegistry::Add(AnalyzeStream* stream) {
  absl::Status stop;
  {
    absl::MutexLock lock(&mu_);
    if (!stopped_) {
      streams_.push_back(stream);
      return;
    }
    stop = stop_status_;
  }
  stream->Stop(stop);
}

void StreamRegistry::Remove(AnalyzeStream* stream) {
  absl::MutexLock lock(&mu_);
  streams_.erase(std::remove(streams_.begin(), streams_.end(), stream), streams_.end());
}

void StreamRegistry::StopAll(const absl::Status& status) {
  // Under the lock: a stream leaves the registry in its OnDone(), before it
  // is deleted, so each one here is alive. gRPC runs OnDone() on its own
  // threads, never inside Finish(), so Stop() cannot wait on this lock.
  absl::MutexLock lock(&mu_);
  stopped_ = true;
  stop_status_ = status;
  for (AnalyzeStream* s : streams_) s->Stop(status);
}

}  // namespace faceserve
