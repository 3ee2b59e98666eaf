#include "runtime/cpu/compute_pool.h"

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include <immintrin.h>
#include <omp.h>

namespace senti::cpu {
namespace compute_pool_detail {
namespace {

// Parts per call at most (the part count travels in the low byte of the job word).
constexpr int kMaxParts = 255;
// Pause iterations between yields while polling inside a SpinScope; outside one, a worker polls this
// many after a part (~40 µs on Zen 3) and then sleeps, so that back-to-back calls outside a forward
// (tests, benchmarks) rarely wait for a wake-up.
constexpr int kSpinsPerYield = 2048;

class Pool {
 public:
  ~Pool() { stop(); }
  void run(int parts, PartFn fn, const void* context);
  void enter() {
    spinning_.fetch_add(1);
    wake();  // sleeping workers start polling now, while the forward's first serial steps run
  }
  void leave() { spinning_.fetch_sub(1); }

 private:
  void worker(int part, uint64_t seen);
  void wake() {
    epoch_.fetch_add(1);
    if (sleepers_.load() > 0) epoch_.notify_all();
  }
  void stop() {
    stopping_.store(true);
    wake();
    for (std::thread& t : workers_) t.join();
  }

  std::vector<std::thread> workers_;  // worker i runs part i + 1; grown only by the caller holding busy_
  std::atomic<bool> busy_{false};     // a call is in flight
  // The current job: generation << 8 | parts. Its function and context are read only by its workers
  // (part < parts), which the caller waits for before the next job can be published.
  std::atomic<uint64_t> job_{0};
  PartFn fn_ = nullptr;
  const void* context_ = nullptr;
  std::atomic<int> pending_{0};    // workers of the current job not finished
  std::atomic<uint32_t> epoch_{0};  // moves on every job, enter() and stop(): what sleepers wait on
  std::atomic<int> sleepers_{0};
  std::atomic<int> spinning_{0};    // live SpinScopes
  std::atomic<bool> stopping_{false};
};

void Pool::worker(int part, uint64_t seen) {
  int idle = 0;
  unsigned polls = 0;
  for (;;) {
    const uint32_t epoch = epoch_.load();
    const uint64_t word = job_.load(std::memory_order_acquire);
    if ((word >> 8) != seen) {
      seen = word >> 8;
      if (part < static_cast<int>(word & 0xff)) {
        fn_(context_, part, static_cast<int>(word & 0xff));
        pending_.fetch_sub(1, std::memory_order_release);
      }
      idle = 0;
      continue;
    }
    if (stopping_.load()) return;
    if (spinning_.load(std::memory_order_relaxed) > 0) {
      // Inside a SpinScope: poll, yielding now and then; once it closes, sleep at once.
      if (++polls % kSpinsPerYield == 0) std::this_thread::yield();
      _mm_pause();
      idle = kSpinsPerYield;
      continue;
    }
    if (idle < kSpinsPerYield) {  // just after a part: a short poll for the next one
      ++idle;
      _mm_pause();
      continue;
    }
    sleepers_.fetch_add(1);
    epoch_.wait(epoch);  // returns at once if a job, enter() or stop() moved the epoch since it was read
    sleepers_.fetch_sub(1);
    idle = 0;
  }
}

void Pool::run(int parts, PartFn fn, const void* context) {
  parts = std::min(parts, kMaxParts);
  bool expected = false;
  if (!busy_.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
    // Another thread's call is in flight, or this is a call from inside a part: the same parts, here.
    for (int part = 0; part < parts; ++part) fn(context, part, parts);
    return;
  }
  const uint64_t generation = (job_.load(std::memory_order_relaxed) >> 8) + 1;
  while (static_cast<int>(workers_.size()) < parts - 1) {
    const int part = static_cast<int>(workers_.size()) + 1;
    workers_.emplace_back([this, part, seen = generation - 1] { worker(part, seen); });
  }
  fn_ = fn;
  context_ = context;
  pending_.store(parts - 1, std::memory_order_relaxed);
  job_.store(generation << 8 | static_cast<uint64_t>(parts), std::memory_order_release);
  wake();
  fn(context, 0, parts);
  for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
    if (spins < kSpinsPerYield) {
      _mm_pause();
    } else {
      std::this_thread::yield();  // more threads than free cores: let the workers run
    }
  }
  busy_.store(false, std::memory_order_release);
}

Pool& pool() {
  static Pool instance;
  return instance;
}

}  // namespace

void run(int parts, PartFn fn, const void* context) { pool().run(parts, fn, context); }
// SpinScopes open on this thread (a SpinPause undoes only this thread's own).
thread_local int t_open_scopes = 0;

void enter_spin() {
  ++t_open_scopes;
  pool().enter();
}
void leave_spin() {
  --t_open_scopes;
  pool().leave();
}
bool pause_spin() {
  if (t_open_scopes == 0) return false;
  pool().leave();
  return true;
}
void resume_spin() { pool().enter(); }

}  // namespace compute_pool_detail

int compute_threads() { return omp_get_max_threads(); }

}  // namespace senti::cpu
