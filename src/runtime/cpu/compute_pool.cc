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
  void worker(uint64_t seen);
  // Runs the parts of job `generation` this thread claims, until none is left.
  void run_claimed(uint64_t generation, int parts) {
    for (int part = 0; claim(generation, parts, part);) {
      fn_(context_, part, parts);
      pending_.fetch_sub(1, std::memory_order_release);
    }
  }
  // Claims a part of job `generation`: false once all are claimed (or the job is over).
  bool claim(uint64_t generation, int parts, int& part) {
    uint64_t v = claim_.load(std::memory_order_relaxed);
    for (;;) {
      if ((v >> 8) != generation || static_cast<int>(v & 0xff) >= parts) return false;
      if (claim_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel)) {
        part = static_cast<int>(v & 0xff);
        return true;
      }
    }
  }
  void wake() {
    epoch_.fetch_add(1);
    if (sleepers_.load() > 0) epoch_.notify_all();
  }
  void stop() {
    stopping_.store(true);
    wake();
    for (std::thread& t : workers_) t.join();
  }

  std::vector<std::thread> workers_;  // up to parts - 1 of them; grown only by the caller holding busy_
  std::atomic<bool> busy_{false};     // a call is in flight
  // The current job: generation << 8 | parts. Its function and context are read only by a thread that
  // claimed one of its parts, which the caller waits for before the next job can be published.
  std::atomic<uint64_t> job_{0};
  // generation << 8 | the next part not yet claimed. Parts go to whichever thread claims them first:
  // the caller claims the parts no worker has started once its own is done, so a worker still waking
  // up (a futex wake of an idle vCPU took 1-4 ms on the KVM host: sporadic requests to the default model
  // at 2 threads took 2-4 ms against 0.4-0.7 at 1 thread) delays nothing.
  std::atomic<uint64_t> claim_{0};
  PartFn fn_ = nullptr;
  const void* context_ = nullptr;
  std::atomic<int> pending_{0};    // workers of the current job not finished
  std::atomic<uint32_t> epoch_{0};  // moves on every job, enter() and stop(): what sleepers wait on
  std::atomic<int> sleepers_{0};
  std::atomic<int> spinning_{0};    // live SpinScopes
  std::atomic<bool> stopping_{false};
};

void Pool::worker(uint64_t seen) {
  int idle = 0;
  unsigned polls = 0;
  for (;;) {
    const uint32_t epoch = epoch_.load();
    const uint64_t word = job_.load(std::memory_order_acquire);
    if ((word >> 8) != seen) {
      seen = word >> 8;
      run_claimed(seen, static_cast<int>(word & 0xff));
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
  while (static_cast<int>(workers_.size()) < parts - 1)
    workers_.emplace_back([this, seen = generation - 1] { worker(seen); });
  fn_ = fn;
  context_ = context;
  pending_.store(parts - 1, std::memory_order_relaxed);
  claim_.store(generation << 8 | 1, std::memory_order_relaxed);  // part 0 is the caller's
  job_.store(generation << 8 | static_cast<uint64_t>(parts), std::memory_order_release);
  wake();
  fn(context, 0, parts);
  run_claimed(generation, parts);
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
