// Job: one request in flight through the pipeline's stages, and Stage, the
// shape of every stage.
//
// A stage runs on the pipeline's thread pool or continues from a batcher's
// callback; it calls its `next` exactly once. Only one stage works on a Job
// at a time, so the image and faces need no lock; the timings do, because
// the predictors of one stage record theirs from several batch workers.
#ifndef FACESERVE_CORE_PIPELINE_JOB_H_
#define FACESERVE_CORE_PIPELINE_JOB_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/pipeline/call_context.h"
#include "core/types.h"

namespace faceserve {

struct Job {
  CallContext ctx;
  cv::Mat image;             // RGB, set by the reader
  bool whole_image = false;  // the image is a face crop: no detection
  std::vector<Face> faces;
  std::string annotated_jpeg;  // set by the utilizers when asked for

  void AddTiming(const std::string& stage, absl::Duration d) {
    absl::MutexLock lock(&mu_);
    timings_.push_back(StageTiming{stage, absl::ToDoubleSeconds(d)});
  }
  std::vector<StageTiming> timings() const {
    absl::MutexLock lock(&mu_);
    return timings_;
  }
  // CANCELLED or DEADLINE_EXCEEDED once the caller no longer waits.
  absl::Status CheckAlive() const {
    if (ctx.is_cancelled && ctx.is_cancelled()) return absl::CancelledError("call cancelled");
    if (absl::Now() > ctx.deadline) {
      return absl::DeadlineExceededError("deadline passed before the work was done");
    }
    return absl::OkStatus();
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<StageTiming> timings_ ABSL_GUARDED_BY(mu_);
};

using JobPtr = std::shared_ptr<Job>;
using Continue = std::function<void(absl::Status)>;
// A stage: does its part of `job`, then calls `next` exactly once, with the
// first error or OK.
using Stage = std::function<void(const JobPtr& job, Continue next)>;

// Runs `stages` one after the other on `job`; the first failure skips the
// rest. `done` gets OK or that failure, on the thread the last stage ended on.
inline void RunStages(JobPtr job, std::vector<Stage> stages, Continue done) {
  struct Chain {
    JobPtr job;
    std::vector<Stage> stages;
    Continue done;
    void Step(std::shared_ptr<Chain> self, size_t i) {
      if (i == stages.size()) return done(absl::OkStatus());
      stages[i](job, [self, i](absl::Status s) {
        if (!s.ok()) return self->done(std::move(s));
        self->Step(self, i + 1);
      });
    }
  };
  auto chain = std::make_shared<Chain>(Chain{std::move(job), std::move(stages), std::move(done)});
  chain->Step(chain, 0);
}

}  // namespace faceserve

#endif  // FACESERVE_CORE_PIPELINE_JOB_H_
