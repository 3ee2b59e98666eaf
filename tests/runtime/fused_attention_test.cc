// The fused attention kernels (fused_attention.h) on every ISA variant the host runs: each against
// the scalar reference, and the scalar reference against plain double-precision attention, over
// packed sequences of lengths that leave vector tails, for head_dim 64 (the register-blocked kernels)
// and 32 (the generic one), all queries and [CLS] only.
#include "runtime/cpu/fused_attention.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/cpu/kernel_isa.h"

namespace senti::cpu {
namespace {

struct Case {
  std::size_t heads, head_dim;
  std::vector<std::size_t> offsets;
  std::vector<float> qkv;
};

Case make_case(std::size_t heads, std::size_t head_dim) {
  Case c{heads, head_dim, {0}, {}};
  for (std::size_t length : {1, 2, 3, 4, 5, 7, 8, 16, 18, 23, 32, 33, 64, 70, 130}) c.offsets.push_back(c.offsets.back() + length);
  std::mt19937 rng(static_cast<unsigned>(heads * 131 + head_dim));
  std::normal_distribution<float> normal(0.f, 1.5f);
  c.qkv.resize(c.offsets.back() * 3 * heads * head_dim);
  for (float& v : c.qkv) v = normal(rng);
  return c;
}

std::vector<float> run(KernelIsa isa, const Case& c, bool cls_only) {
  const std::size_t hidden = c.heads * c.head_dim;
  std::vector<float> context(c.offsets.back() * hidden, 0.f);
  fused_attention(isa, c.qkv.data(), c.offsets.data(), c.offsets.size() - 1, c.heads, c.head_dim, context.data(),
                  cls_only);
  return context;
}

// softmax(q·kᵀ / sqrt(d)) v in double, for every query row (cls_only: the first of each sequence).
std::vector<float> reference(const Case& c, bool cls_only) {
  const std::size_t hidden = c.heads * c.head_dim, row = 3 * hidden;
  std::vector<float> context(c.offsets.back() * hidden, 0.f);
  for (std::size_t s = 0; s + 1 < c.offsets.size(); ++s) {
    const std::size_t begin = c.offsets[s], end = c.offsets[s + 1];
    for (std::size_t h = 0; h < c.heads; ++h) {
      for (std::size_t i = begin; i < (cls_only ? begin + 1 : end); ++i) {
        std::vector<double> w(end - begin);
        for (std::size_t j = begin; j < end; ++j) {
          double dot = 0;
          for (std::size_t d = 0; d < c.head_dim; ++d)
            dot += double(c.qkv[i * row + h * c.head_dim + d]) * c.qkv[j * row + hidden + h * c.head_dim + d];
          w[j - begin] = dot / std::sqrt(double(c.head_dim));
        }
        const double m = *std::max_element(w.begin(), w.end());
        double sum = 0;
        for (double& x : w) sum += (x = std::exp(x - m));
        for (std::size_t d = 0; d < c.head_dim; ++d) {
          double acc = 0;
          for (std::size_t j = begin; j < end; ++j) acc += w[j - begin] * c.qkv[j * row + 2 * hidden + h * c.head_dim + d];
          context[i * hidden + h * c.head_dim + d] = static_cast<float>(acc / sum);
        }
      }
    }
  }
  return context;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return worst;
}

TEST(FusedAttention, EveryIsaMatchesTheScalarReference) {
  for (std::size_t head_dim : {64, 32}) {
    const Case c = make_case(4, head_dim);
    for (bool cls_only : {false, true}) {
      SCOPED_TRACE("head_dim " + std::to_string(head_dim) + (cls_only ? ", [CLS] only" : ", all queries"));
      const std::vector<float> scalar = run(KernelIsa::kScalar, c, cls_only);
      EXPECT_LE(max_abs_diff(scalar, reference(c, cls_only)), 2e-5f);
      for (KernelIsa isa : {KernelIsa::kAvx2, KernelIsa::kAvx512}) {
        if (static_cast<int>(isa) > static_cast<int>(kernel_isa())) continue;
        SCOPED_TRACE(kernel_isa_name(isa));
        EXPECT_LE(max_abs_diff(run(isa, c, cls_only), scalar), 2e-5f);
      }
    }
  }
}

}  // namespace
}  // namespace senti::cpu
