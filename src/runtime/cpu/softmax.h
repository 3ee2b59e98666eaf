#pragma once

#include <cstddef>

namespace senti::cpu {

// In place, for each of `rows` rows of `cols` values: softmax(scale * x), numerically stable.
void scaled_softmax_rows(float* data, std::size_t rows, std::size_t cols, float scale);

// softmax of one short vector (classifier outputs) into out.
void softmax(const float* logits, std::size_t n, float* out);

}  // namespace senti::cpu
