#include "core/cpu_run_slots.h"

#include <sched.h>

#include <algorithm>
#include <thread>

namespace faceserve {
namespace {

bool SetThisThreadCpus(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) {
    if (c >= 0 && c < CPU_SETSIZE) CPU_SET(c, &set);
  }
  return sched_setaffinity(0, sizeof(set), &set) == 0;  // 0: the calling thread
}

}  // namespace

CpuRunSlots::CpuRunSlots(int slots, std::vector<int> cpus)
    : free_(std::max(1, slots)), total_(free_), taken_(total_, false), cpus_(std::move(cpus)) {
  if (static_cast<int>(cpus_.size()) < total_) cpus_.clear();
  cpus_.resize(std::min<size_t>(cpus_.size(), total_));
  pinning_ = !cpus_.empty();
}

CpuRunSlots::Hold::Hold(CpuRunSlots* slots)
    : slots_(slots != nullptr && held_by_this_thread_ != slots ? slots : nullptr) {
  if (slots_ == nullptr) return;
  {
    absl::MutexLock lock(&slots_->mu_);
    slots_->mu_.Await(absl::Condition(+[](int* free) { return *free > 0; }, &slots_->free_));
    --slots_->free_;
    // The slot of the core this thread is on, when free: pinning then moves
    // nothing (a migration costs the pass its warm caches). Else the lowest.
    index_ = -1;
    if (slots_->pinning()) {
      const int here = sched_getcpu();
      for (int i = 0; i < slots_->total_; ++i) {
        if (!slots_->taken_[i] && slots_->cpus_[i] == here) index_ = i;
      }
    }
    if (index_ < 0) {
      index_ = 0;
      while (slots_->taken_[index_]) ++index_;  // free_ > 0: one is untaken
    }
    slots_->taken_[index_] = true;
  }
  held_by_this_thread_ = slots_;
  if (slots_->pinning() && sched_getaffinity(0, sizeof(unpinned_), &unpinned_) == 0) {
    pinned_ = SetThisThreadCpus({slots_->cpus_[index_]});
    if (!pinned_) slots_->pinning_ = false;  // not allowed here: stop trying
  }
}

CpuRunSlots::Hold::~Hold() {
  if (slots_ == nullptr) return;
  // Back to the cores it had, so work after the pass (slicing the batch,
  // completing requests) runs wherever a core is free.
  if (pinned_) sched_setaffinity(0, sizeof(unpinned_), &unpinned_);
  held_by_this_thread_ = nullptr;
  absl::MutexLock lock(&slots_->mu_);
  slots_->taken_[index_] = false;
  ++slots_->free_;
}

std::vector<int> AllowedCpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
    }
  }
  if (cpus.empty()) {
    const int n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (int c = 0; c < n; ++c) cpus.push_back(c);
  }
  return cpus;
}

}  // namespace faceserve
