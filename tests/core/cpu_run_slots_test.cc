// CpuRunSlots: the slot count, and pinning each pass to its slot's core.
#include "core/cpu_run_slots.h"

#include <sched.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace faceserve {
namespace {

using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

std::vector<int> ThisThreadCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  EXPECT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

TEST(AllowedCpusTest, IsThisProcessesAffinityMask) {
  const std::vector<int> cpus = AllowedCpus();
  ASSERT_FALSE(cpus.empty());
  EXPECT_THAT(cpus, ElementsAreArray(ThisThreadCpus()));
  EXPECT_TRUE(std::is_sorted(cpus.begin(), cpus.end()));
}

TEST(CpuRunSlotsTest, WithoutCpusNothingIsPinned) {
  CpuRunSlots slots(2);
  EXPECT_FALSE(slots.pinning());
  const std::vector<int> before = ThisThreadCpus();
  CpuRunSlots::Hold hold(&slots);
  EXPECT_EQ(hold.index(), 0);
  EXPECT_THAT(ThisThreadCpus(), ElementsAreArray(before));
}

TEST(CpuRunSlotsTest, FewerCpusThanSlotsMeansNoPinning) {
  CpuRunSlots slots(3, {0, 1});
  EXPECT_FALSE(slots.pinning());
  EXPECT_THAT(slots.cpus(), IsEmpty());
}

TEST(CpuRunSlotsTest, AtLeastOneSlot) {
  CpuRunSlots slots(0);
  EXPECT_EQ(slots.total(), 1);
  EXPECT_EQ(slots.free(), 1);
}

// Two passes at once: each thread runs on its own slot's core only while it
// holds the slot, and gets its old affinity back afterwards.
TEST(CpuRunSlotsTest, EachHolderIsPinnedToItsOwnSlotsCore) {
  const std::vector<int> allowed = AllowedCpus();
  if (allowed.size() < 2) GTEST_SKIP() << "needs 2 CPUs, this process may use 1";
  const std::vector<int> cores{allowed[0], allowed[1]};
  CpuRunSlots slots(2, cores);
  ASSERT_TRUE(slots.pinning());

  std::vector<int> index(2, -2);
  std::vector<std::vector<int>> during(2), after(2);
  std::vector<int> ran_on(2, -1);
  absl::Notification both_hold, release;
  std::atomic<int> holding{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      {
        CpuRunSlots::Hold hold(&slots);
        index[t] = hold.index();
        during[t] = ThisThreadCpus();
        ran_on[t] = sched_getcpu();
        if (++holding == 2) both_hold.Notify();
        release.WaitForNotification();
      }
      after[t] = ThisThreadCpus();
    });
  }
  ASSERT_TRUE(both_hold.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(slots.free(), 0);
  release.Notify();
  for (std::thread& t : threads) t.join();

  EXPECT_EQ(std::set<int>(index.begin(), index.end()), (std::set<int>{0, 1}));
  for (int t = 0; t < 2; ++t) {
    const int core = cores[index[t]];
    EXPECT_THAT(during[t], ElementsAreArray({core})) << "thread " << t;
    EXPECT_EQ(ran_on[t], core) << "thread " << t;
    EXPECT_THAT(after[t], ElementsAreArray(allowed)) << "thread " << t;
  }
  EXPECT_EQ(slots.free(), 2);
}

// Runs `body` on a new thread confined to `cpus` (so which core it is on,
// and so which slot it prefers, is known).
template <typename Body>
void OnThreadConfinedTo(const std::vector<int>& cpus, Body body) {
  std::thread t([&] {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int c : cpus) CPU_SET(c, &set);
    ASSERT_EQ(sched_setaffinity(0, sizeof(set), &set), 0);
    body();
  });
  t.join();
}

// A thread takes the free slot of the core it runs on (no migration), and
// gets its own affinity back afterwards.
TEST(CpuRunSlotsTest, PrefersTheSlotOfTheCoreItRunsOn) {
  const std::vector<int> allowed = AllowedCpus();
  if (allowed.size() < 2) GTEST_SKIP() << "needs 2 CPUs, this process may use 1";
  CpuRunSlots slots(2, {allowed[0], allowed[1]});
  for (int k : {1, 0}) {
    OnThreadConfinedTo({allowed[k]}, [&] {
      {
        CpuRunSlots::Hold hold(&slots);
        EXPECT_EQ(hold.index(), k);
        EXPECT_EQ(sched_getcpu(), allowed[k]);
      }
      EXPECT_THAT(ThisThreadCpus(), ElementsAreArray({allowed[k]}));
    });
  }
  EXPECT_EQ(slots.free(), 2);
}

// When its core's slot is taken, a thread takes another free slot and moves
// to that slot's core; a freed slot is taken again with its core.
TEST(CpuRunSlotsTest, TakesAnotherSlotAndMovesWhenItsCoresSlotIsBusy) {
  const std::vector<int> allowed = AllowedCpus();
  if (allowed.size() < 2) GTEST_SKIP() << "needs 2 CPUs, this process may use 1";
  const std::vector<int> both{allowed[0], allowed[1]};
  CpuRunSlots slots(2, both);
  absl::Notification first_holds, release_first;
  std::thread first([&] {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(allowed[0], &set);
    ASSERT_EQ(sched_setaffinity(0, sizeof(set), &set), 0);
    CpuRunSlots::Hold hold(&slots);
    EXPECT_EQ(hold.index(), 0);
    first_holds.Notify();
    release_first.WaitForNotification();
  });
  first_holds.WaitForNotification();
  // On core 0 too, but its slot is taken: slot 1, on core 1.
  OnThreadConfinedTo(both, [&] {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(allowed[0], &set);
    ASSERT_EQ(sched_setaffinity(0, sizeof(set), &set), 0);
    {
      CpuRunSlots::Hold hold(&slots);
      EXPECT_EQ(hold.index(), 1);
      EXPECT_THAT(ThisThreadCpus(), ElementsAreArray({allowed[1]}));
      EXPECT_EQ(sched_getcpu(), allowed[1]);
    }
    EXPECT_THAT(ThisThreadCpus(), ElementsAreArray({allowed[0]}));
  });
  release_first.Notify();
  first.join();
  EXPECT_EQ(slots.free(), 2);
  // Slot 0 is free again and taken by the next thread on core 0.
  OnThreadConfinedTo({allowed[0]}, [&] {
    CpuRunSlots::Hold hold(&slots);
    EXPECT_EQ(hold.index(), 0);
  });
}

// The re-entrant inner Hold takes no slot and must not unpin the outer one.
TEST(CpuRunSlotsTest, AReentrantHoldKeepsTheOuterPin) {
  const std::vector<int> allowed = AllowedCpus();
  CpuRunSlots slots(1, {allowed.back()});
  CpuRunSlots::Hold outer(&slots);
  {
    CpuRunSlots::Hold inner(&slots);
    EXPECT_EQ(inner.index(), -1);
  }
  EXPECT_THAT(ThisThreadCpus(), ElementsAreArray({allowed.back()}));
}

// A CPU the process may not use: pinning fails, is switched off, and the
// pass still runs (on the cores it had).
TEST(CpuRunSlotsTest, AnUnusableCpuTurnsPinningOff) {
  const std::vector<int> before = ThisThreadCpus();
  CpuRunSlots slots(1, {CPU_SETSIZE - 1});
  if (std::find(before.begin(), before.end(), CPU_SETSIZE - 1) != before.end()) {
    GTEST_SKIP() << "this machine has CPU " << CPU_SETSIZE - 1;
  }
  ASSERT_TRUE(slots.pinning());
  {
    CpuRunSlots::Hold hold(&slots);
    EXPECT_EQ(hold.index(), 0);
    EXPECT_THAT(ThisThreadCpus(), ElementsAreArray(before));
  }
  EXPECT_FALSE(slots.pinning());
  EXPECT_EQ(slots.free(), 1);
}

}  // namespace
}  // namespace faceserve
