// PackedLinear int8: senti's kernel and oneDNN's give the same bits for the same rows, so that
// SENTI_GEMM_ROWS=N (calls of more than N rows to oneDNN) keeps batch == single. Both sum exactly in
// s32 and share one epilogue; senti's kernel runs every row count by default, so only this test
// compares the two on the host's ISA.
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/cpu/packed_linear.h"

namespace senti::cpu {
namespace {

std::vector<float> pseudo_random(std::size_t n, uint32_t seed, float scale) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;
    v[i] = (static_cast<float>(seed >> 8) / static_cast<float>(1u << 24) - 0.5f) * scale;
  }
  return v;
}

TEST(PackedLinearInt8, SentiAndOneDnnKernelsGiveTheSameBits) {
  if (!senti_kernel_enabled(Precision::kInt8)) GTEST_SKIP() << "senti's int8 kernel does not run on this host";
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  constexpr std::size_t out = 200, in = 300;  // tails in both dimensions
  const std::vector<float> weight = pseudo_random(out * in, 7, 0.2f), bias = pseudo_random(out, 11, 0.5f);
  for (const Activation activation : {Activation::kNone, Activation::kGeluErf}) {
    PackedLinear linear(engine, weight.data(), bias.data(), out, in, activation, Precision::kInt8);
    for (const std::size_t rows : {1, 5, 19, 37, 70}) {
      const std::size_t padded = PackedLinear::padded_rows(rows);
      const std::vector<float> x = pseudo_random(padded * in, static_cast<uint32_t>(rows), 4.f);
      std::vector<float> senti(padded * out), onednn(padded * out);
      linear.set_senti_max_rows(rows);
      linear.forward(stream, x.data(), rows, senti.data(), true);
      stream.wait();
      linear.set_senti_max_rows(0);
      linear.forward(stream, x.data(), rows, onednn.data(), true);
      stream.wait();
      EXPECT_EQ(0, std::memcmp(senti.data(), onednn.data(), rows * out * sizeof(float)))
          << rows << " rows, activation " << static_cast<int>(activation) << ": " << linear.implementation();
      // Not a vacuous comparison: the outputs are neither all zero nor all equal.
      EXPECT_NE(senti[0], senti[rows * out - 1]);
    }
  }
}

}  // namespace
}  // namespace senti::cpu
