// Opt-in stage timing (SENTI_PROFILE=1): accumulates the calling thread's CPU time per stage of the
// forward pass and prints a table to stderr when the process ends. CPU time, not wall time, so the
// split stays meaningful on a shared machine; run single-threaded (--threads 1) for it to cover all
// the work. Costs one branch per stage when disabled.
#pragma once

#include <cstddef>
#include <ctime>
#include <string>

namespace senti::cpu {

enum class Stage { kEmbedding, kConvert, kMatmul, kDequantize, kAttention, kNorm, kHead, kCount };

bool profiling_enabled();
void profile_add(Stage stage, double seconds);
// One matmul of `rows` × n × k on `kernel` (its name), conversion of the input excluded; the
// table printed at exit has one line per kernel and shape (n, k) with the achieved GOP/s.
void profile_matmul(const std::string& kernel, std::size_t rows, std::size_t n, std::size_t k, double seconds);

inline double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

class StageTimer {
 public:
  explicit StageTimer(Stage stage) : stage_(stage), on_(profiling_enabled()) {
    if (on_) start_ = thread_cpu_seconds();
  }
  ~StageTimer() {
    if (on_) profile_add(stage_, thread_cpu_seconds() - start_);
  }
  StageTimer(const StageTimer&) = delete;
  StageTimer& operator=(const StageTimer&) = delete;

 private:
  Stage stage_;
  bool on_;
  double start_ = 0;
};

}  // namespace senti::cpu
