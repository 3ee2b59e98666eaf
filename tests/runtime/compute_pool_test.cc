// The CPU backend's worker pool (src/runtime/cpu/compute_pool.h): every part runs once with the part
// count asked for, whichever thread runs it; the workers take parts while the caller works; calls from
// several threads at once and calls from inside a part still run every part; SpinScope and SpinPause
// nest and leave the pool usable.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/cpu/compute_pool.h"

namespace senti::cpu {
namespace {

// Runs `parts` parts and checks each ran exactly once, with the right count; returns the threads used.
std::set<std::thread::id> run_and_check(int parts) {
  std::vector<std::atomic<int>> runs(static_cast<std::size_t>(parts));
  std::mutex mutex;
  std::set<std::thread::id> threads;
  std::atomic<int> wrong_count{0};
  parallel_run(parts, [&](int part, int count) {
    if (count != parts) ++wrong_count;
    runs[static_cast<std::size_t>(part)].fetch_add(1);
    const std::lock_guard lock(mutex);
    threads.insert(std::this_thread::get_id());
  });
  EXPECT_EQ(wrong_count.load(), 0);
  for (int p = 0; p < parts; ++p) EXPECT_EQ(runs[static_cast<std::size_t>(p)].load(), 1) << "part " << p << " of " << parts;
  return threads;
}

TEST(ComputePool, EveryPartRunsOnceWithItsCount) {
  for (int parts : {1, 2, 3, 7, 2, 1, 5}) run_and_check(parts);
  // Part 0 runs on the caller; the others on whichever thread claims them first (here the caller may
  // take them all: its part is short).
  const auto threads = run_and_check(3);
  EXPECT_TRUE(threads.count(std::this_thread::get_id()) == 1);
}

// While the caller is busy with part 0 the workers take the other parts: part 0 waits (up to 10 s) for
// a part to start on another thread.
TEST(ComputePool, WorkersTakePartsWhileTheCallerWorks) {
  const auto caller = std::this_thread::get_id();
  std::atomic<int> elsewhere{0};
  std::atomic<int> runs{0};
  parallel_run(3, [&](int part, int) {
    runs.fetch_add(1);
    if (std::this_thread::get_id() != caller) elsewhere.fetch_add(1);
    if (part != 0) return;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (elsewhere.load() == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  });
  EXPECT_EQ(runs.load(), 3);
  EXPECT_GE(elsewhere.load(), 1);
}

TEST(ComputePool, ParallelForCoversEveryIndexOnce) {
  for (std::size_t count : {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{1000}}) {
    for (int threads : {0, 1, 2, 4}) {
      std::vector<std::atomic<int>> seen(count);
      parallel_for(threads, count, [&](std::size_t i) { seen[i].fetch_add(1); });
      for (std::size_t i = 0; i < count; ++i) ASSERT_EQ(seen[i].load(), 1) << i << " of " << count << ", " << threads;
    }
  }
}

// A call from inside a part (the pool is busy) runs its parts on the calling thread.
TEST(ComputePool, NestedCallsRunEveryPart) {
  std::atomic<int> inner{0};
  parallel_run(2, [&](int, int) {
    parallel_run(3, [&](int, int count) {
      EXPECT_EQ(count, 3);
      inner.fetch_add(1);
    });
  });
  EXPECT_EQ(inner.load(), 6);
}

// Several threads calling at once (the service's network and engine threads): every call completes
// with every part, whether the workers or the caller ran it.
TEST(ComputePool, ConcurrentCallersAllComplete) {
  constexpr int kCallers = 4, kCalls = 300;
  std::atomic<long> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&, c] {
      const SpinScope spin;
      for (int i = 0; i < kCalls; ++i) {
        std::atomic<int> parts_run{0};
        parallel_run(2 + (c + i) % 3, [&](int, int) { parts_run.fetch_add(1); });
        total.fetch_add(parts_run.load());
        if (parts_run.load() != 2 + (c + i) % 3) ADD_FAILURE() << "caller " << c << " call " << i;
      }
    });
  }
  for (auto& t : callers) t.join();
  long want = 0;
  for (int c = 0; c < kCallers; ++c)
    for (int i = 0; i < kCalls; ++i) want += 2 + (c + i) % 3;
  EXPECT_EQ(total.load(), want);
}

// Scopes and pauses nest; calls inside and outside them, and after the workers went to sleep, all work.
TEST(ComputePool, ScopesPausesAndSleepingWorkers) {
  {
    const SpinScope outer;
    run_and_check(2);
    {
      const SpinPause pause;
      run_and_check(2);
      const SpinScope inner;
      run_and_check(3);
    }
    run_and_check(2);
  }
  const SpinPause no_scope;  // no scope open on this thread: nothing to pause
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the workers sleep by now
  run_and_check(2);
  run_and_check(4);
}

}  // namespace
}  // namespace senti::cpu
