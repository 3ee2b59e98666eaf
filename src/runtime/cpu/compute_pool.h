// The threads of the CPU backend's parallel loops (GEMM column panels, attention heads, row blocks), in
// place of OpenMP parallel regions.
//
// Written by hand because libgomp's waiting policy is wrong for a server on few cores: its workers spin
// ~300k iterations after a region, unless the process has more OpenMP threads than cores (every thread
// that ever opened a region keeps its own team: the network threads, the engine thread), when they sleep
// after ~1000 and each of a forward's dozen regions pays a futex wake-up. Measured on the 2-core AVX2 host
// (rbt3 int8, 2 threads, serial keep-alive GET /predict, p50): 2.39 ms over HTTP against 2.14 ms
// in-process; with OMP_WAIT_POLICY=active (spin for ever: a core burnt while idle) 2.22 ms. Here the
// workers spin only while a forward is running (SpinScope) and sleep as soon as it ends, so a forward
// wakes them once, and an idle server uses no CPU.
//
// run() gives the same results whichever threads execute the parts: callers split work by the part
// index and the part count only (GEMM column panels, heads, row blocks), and a call made while another
// thread's call is in flight (or from inside a part) runs all its parts on the calling thread.
#pragma once

#include <algorithm>
#include <cstddef>

namespace senti::cpu {

namespace compute_pool_detail {
using PartFn = void (*)(const void* context, int part, int parts);
void run(int parts, PartFn fn, const void* context);
void enter_spin();
void leave_spin();
bool pause_spin();  // false (nothing paused) where the calling thread has no SpinScope open
void resume_spin();
}  // namespace compute_pool_detail

// Runs fn(part, parts) for part in [0, parts): part 0 on the calling thread, each other part on whichever
// thread claims it first, one of the pool's workers (started on first use, up to the largest `parts`
// asked for) or the calling thread once its own part is done; returns when all are done.
template <class Fn>
void parallel_run(int parts, const Fn& fn) {
  if (parts <= 1) {
    fn(0, 1);
    return;
  }
  compute_pool_detail::run(
      parts, [](const void* context, int part, int count) { (*static_cast<const Fn*>(context))(part, count); }, &fn);
}

// Runs fn(i) for i in [0, count), spread over `threads` threads: chunked statically (contiguous ranges).
template <class Fn>
void parallel_for(int threads, std::size_t count, const Fn& fn) {
  const int parts = static_cast<int>(std::min<std::size_t>(count, threads > 0 ? static_cast<std::size_t>(threads) : 1));
  parallel_run(parts, [&](int part, int n) {
    const std::size_t first = count * static_cast<std::size_t>(part) / static_cast<std::size_t>(n);
    const std::size_t last = count * static_cast<std::size_t>(part + 1) / static_cast<std::size_t>(n);
    for (std::size_t i = first; i < last; ++i) fn(i);
  });
}

// While one is alive (on any thread), the workers spin between parts instead of sleeping: a forward
// opens one, so its dozen parallel loops cost no wake-up, and closing it puts them to sleep.
class SpinScope {
 public:
  SpinScope() { compute_pool_detail::enter_spin(); }
  ~SpinScope() { compute_pool_detail::leave_spin(); }
  SpinScope(const SpinScope&) = delete;
  SpinScope& operator=(const SpinScope&) = delete;
};

// Closes the SpinScope for a while: around oneDNN's matmuls, whose own OpenMP threads need the cores
// that polling workers would take.
class SpinPause {
 public:
  SpinPause() : paused_(compute_pool_detail::pause_spin()) {}
  ~SpinPause() {
    if (paused_) compute_pool_detail::resume_spin();
  }
  SpinPause(const SpinPause&) = delete;
  SpinPause& operator=(const SpinPause&) = delete;

 private:
  bool paused_;
};

// The thread count parallel loops use on the calling thread: omp_set_num_threads / OMP_NUM_THREADS,
// as before this pool (BackendOptions::num_threads sets it), i.e. the cores by default.
int compute_threads();

}  // namespace senti::cpu
