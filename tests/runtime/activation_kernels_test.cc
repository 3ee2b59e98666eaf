// The per-token int8 quantisation (activation_kernels.h) on every ISA variant the host runs, against
// the scalar reference: identical bytes and identical scales, on widths that leave vector tails and
// on rows with zeros, NaN, infinities and values at rounding boundaries.
#include "runtime/cpu/activation_kernels.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/cpu/kernel_isa.h"

namespace senti::cpu {
namespace {

std::vector<KernelIsa> vector_isas_of_this_host() {
  std::vector<KernelIsa> isas;
  for (KernelIsa isa : {KernelIsa::kAvx2, KernelIsa::kAvx512})
    if (static_cast<int>(isa) <= static_cast<int>(kernel_isa())) isas.push_back(isa);
  return isas;
}

// rows x cols of test values; row 0 random, the others special.
std::vector<float> test_rows(std::size_t cols, std::size_t& rows) {
  std::mt19937 rng(static_cast<unsigned>(cols));
  std::normal_distribution<float> normal(0.f, 2.f);
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  std::vector<std::vector<float>> r(7, std::vector<float>(cols));
  for (float& v : r[0]) v = normal(rng);
  // r[1]: all zeros.
  for (std::size_t c = 0; c < cols; ++c) r[2][c] = c % 5 == 3 ? nan : normal(rng);      // NaN among values
  for (std::size_t c = 0; c < cols; ++c) r[3][c] = c == cols / 2 ? inf : normal(rng);  // an infinity
  for (std::size_t c = 0; c < cols; ++c) r[4][c] = c == cols - 1 ? -inf : normal(rng);
  // Multiples of max/254: x * 127 / max lands on .5 boundaries.
  for (std::size_t c = 0; c < cols; ++c) r[5][c] = (static_cast<float>(c % 255) - 127.f) / 254.f;
  for (std::size_t c = 0; c < cols; ++c) r[6][c] = normal(rng) * 1e-30f;  // tiny, near denormals
  rows = r.size();
  std::vector<float> out;
  for (const auto& row : r) out.insert(out.end(), row.begin(), row.end());
  return out;
}

TEST(ActivationKernels, QuantizeEqualsTheScalarReferenceOnEveryIsa) {
  const auto isas = vector_isas_of_this_host();
  if (isas.empty()) GTEST_SKIP() << "no vector ISA on this host (or SENTI_MAX_ISA=scalar)";
  for (int limit : {127, 63, 42})  // 8-bit activations, 7 bits, and the ±42 of the AVX2 GEMM (gemm_activation_limit)
  for (std::size_t cols : {1, 7, 8, 9, 31, 32, 33, 63, 100, 256, 768, 1000}) {
    std::size_t rows = 0;
    const std::vector<float> x = test_rows(cols, rows);
    std::vector<uint8_t> want(rows * cols);
    std::vector<float> want_scales(rows);
    quantize_rows_u8(KernelIsa::kScalar, x.data(), rows, cols, want.data(), want_scales.data(), limit);
    for (std::size_t i = 0; i < want.size(); ++i) ASSERT_LE(want[i], 2 * limit + 1) << "limit " << limit;
    for (KernelIsa isa : isas) {
      SCOPED_TRACE(std::string(kernel_isa_name(isa)) + ", " + std::to_string(cols) + " columns, limit " +
                   std::to_string(limit));
      std::vector<uint8_t> got(rows * cols, 0);
      std::vector<float> scales(rows, -1.f);
      quantize_rows_u8(isa, x.data(), rows, cols, got.data(), scales.data(), limit);
      for (std::size_t r = 0; r < rows; ++r) {
        EXPECT_EQ(std::bit_cast<uint32_t>(scales[r]), std::bit_cast<uint32_t>(want_scales[r])) << "row " << r;
        for (std::size_t c = 0; c < cols; ++c)
          ASSERT_EQ(got[r * cols + c], want[r * cols + c]) << "row " << r << ", column " << c << ", x " << x[r * cols + c];
      }
    }
  }
}

TEST(ActivationKernels, QuantizeMapsTheRowMaximumTo255AndZeroTo128) {
  const std::vector<float> x = {-2.f, 0.f, 2.f, 1.f};
  for (KernelIsa isa : {KernelIsa::kScalar, kernel_isa()}) {
    std::vector<uint8_t> q(4);
    float scale = 0;
    quantize_rows_u8(isa, x.data(), 1, 4, q.data(), &scale);
    EXPECT_FLOAT_EQ(scale, 2.f / 127.f);
    EXPECT_EQ(q, (std::vector<uint8_t>{1, 128, 255, 192}));  // 1 * 127 / 2 = 63.5 rounds half up: 64 + 128
  }
}

TEST(ActivationKernels, SevenBitQuantizeMapsTheRowMaximumTo127AndZeroTo64) {
  const std::vector<float> x = {-2.f, 0.f, 2.f, 1.f};
  for (KernelIsa isa : {KernelIsa::kScalar, kernel_isa()}) {
    std::vector<uint8_t> q(4);
    float scale = 0;
    quantize_rows_u8(isa, x.data(), 1, 4, q.data(), &scale, 63);
    EXPECT_FLOAT_EQ(scale, 2.f / 63.f);
    EXPECT_EQ(q, (std::vector<uint8_t>{1, 64, 127, 96}));  // 1 * 63 / 2 = 31.5 rounds half up: 32 + 64
  }
}

}  // namespace
}  // namespace senti::cpu
