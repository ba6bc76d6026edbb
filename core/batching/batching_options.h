// How one model's requests are batched (a detector's or a predictor's
// `batching` block in the configuration). Plain data, its own header so that
// the configuration needs nothing else of the batcher.
#ifndef FACESERVE_CORE_BATCHING_BATCHING_OPTIONS_H_
#define FACESERVE_CORE_BATCHING_BATCHING_OPTIONS_H_

#include <cstdint>

namespace faceserve {

struct BatchingOptions {
  // Largest batch handed to the model. 1 disables batching.
  int max_batch_size = 8;
  // How long the oldest queued item may wait for the batch to fill.
  int64_t max_queue_delay_us = 2000;
  // Queued items beyond this are rejected with RESOURCE_EXHAUSTED.
  int max_queue_size = 1024;
  // Threads that run batches of this model concurrently.
  int num_workers = 1;
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_BATCHING_BATCHING_OPTIONS_H_
