// StreamRegistry: the open AnalyzeStreams of a server (analyze_stream.h), so
// that a shutdown can end them all, and the sweeper thread that ends the
// idle ones (server.stream_idle_timeout_ms).
#ifndef FACESERVE_SERVER_STREAM_REGISTRY_H_
#define FACESERVE_SERVER_STREAM_REGISTRY_H_

#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace faceserve {

class AnalyzeStream;

// The open streams, so that a shutdown can end them all, and a sweeper
// thread that ends the idle ones.
class StreamRegistry {
 public:
  explicit StreamRegistry(absl::Duration idle_timeout);
  ~StreamRegistry();
  StreamRegistry(const StreamRegistry&) = delete;
  StreamRegistry& operator=(const StreamRegistry&) = delete;

  void Add(AnalyzeStream* stream);
  void Remove(AnalyzeStream* stream);
  // Stops every open stream with `status` (and each one added later).
  void StopAll(const absl::Status& status);

 private:
  void Sweep();

  const absl::Duration idle_timeout_;
  absl::Mutex mu_;
  std::vector<AnalyzeStream*> streams_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status stop_status_ ABSL_GUARDED_BY(mu_);
  bool closing_ ABSL_GUARDED_BY(mu_) = false;  // the destructor runs
  std::thread sweeper_;
};

}  // namespace faceserve

#endif  // FACESERVE_SERVER_STREAM_REGISTRY_H_
