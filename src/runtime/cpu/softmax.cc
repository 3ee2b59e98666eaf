#include "runtime/cpu/softmax.h"

#include <algorithm>
#include <cmath>

#include "runtime/cpu/compute_pool.h"

namespace senti::cpu {

void scaled_softmax_rows(float* data, std::size_t rows, std::size_t cols, float scale) {
  parallel_for(compute_threads(), rows, [&](std::size_t r) {
    float* row = data + r * cols;
    float max_value = row[0];
    for (std::size_t c = 1; c < cols; ++c) max_value = std::max(max_value, row[c]);
    float sum = 0.f;
    for (std::size_t c = 0; c < cols; ++c) {
      row[c] = std::exp(scale * (row[c] - max_value));
      sum += row[c];
    }
    const float inv = 1.f / sum;
    for (std::size_t c = 0; c < cols; ++c) row[c] *= inv;
  });
}

void softmax(const float* logits, std::size_t n, float* out) {
  if (n == 0) return;
  const float max_value = *std::max_element(logits, logits + n);
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i] - max_value));
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<float>(std::exp(static_cast<double>(logits[i] - max_value)) / sum);
}

}  // namespace senti::cpu
