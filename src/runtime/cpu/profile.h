// Opt-in stage timing (SENTI_PROFILE=1): accumulates wall time per stage of the forward pass and
// prints a table to stderr when the process ends. Costs one branch per stage when disabled.
#pragma once

#include <chrono>
#include <cstddef>

namespace senti::cpu {

enum class Stage { kEmbedding, kConvert, kMatmul, kDequantize, kAttention, kNorm, kHead, kCount };

bool profiling_enabled();
void profile_add(Stage stage, double seconds);

class StageTimer {
 public:
  explicit StageTimer(Stage stage) : stage_(stage), on_(profiling_enabled()) {
    if (on_) start_ = std::chrono::steady_clock::now();
  }
  ~StageTimer() {
    if (on_) profile_add(stage_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }
  StageTimer(const StageTimer&) = delete;
  StageTimer& operator=(const StageTimer&) = delete;

 private:
  Stage stage_;
  bool on_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace senti::cpu
