// fast_exp, gelu_erf and fast_tanh (runtime/cpu/vector_math.h) against the library functions, and at the edges:
// NaN and infinities. A NaN once reached a float -> int conversion inside fast_exp (undefined
// behaviour, found by fuzz/checkpoint_fuzzer with NaN weights); the sanitizer build fails this test
// if it comes back.
#include "runtime/cpu/vector_math.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace senti::cpu {
namespace {

TEST(VectorMath, FastExpMatchesExpInRange) {
  for (float x = -80.f; x <= 80.f; x += 0.37f) EXPECT_NEAR(fast_exp(x) / std::exp(x), 1.0f, 1e-6f) << x;
}

TEST(VectorMath, FastExpEdges) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(std::isnan(fast_exp(nan)));
  EXPECT_TRUE(std::isnan(fast_exp(-nan)));
  EXPECT_FLOAT_EQ(fast_exp(inf), fast_exp(88.f));
  EXPECT_GE(fast_exp(-inf), 0.f);
  EXPECT_LT(fast_exp(-inf), 1e-37f);
  EXPECT_TRUE(std::isnan(gelu_erf(nan)));
}

// erf_rational's fit (tools/fit_erf_rational.py): absolute error < 4e-7 everywhere (float evaluation, with
// or without FMA), relative < 5e-7 down to the smallest normal floats, odd, and the clamp's value from 3.9 on.
TEST(VectorMath, RationalErfMatchesErf) {
  for (float u = -6.f; u <= 6.f; u += 1e-4f) {
    const double want = std::erf(static_cast<double>(u));
    EXPECT_NEAR(erf_rational(u), want, 4e-7) << u;
    EXPECT_EQ(erf_rational(-u), -erf_rational(u)) << u;
  }
  for (float u = 1e-37f; u < 0.5f; u *= 1.7f)
    EXPECT_NEAR(erf_rational(u) / std::erf(static_cast<double>(u)), 1.0, 5e-7) << u;
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_NEAR(erf_rational(inf), 1.f, 2e-7f);
  EXPECT_EQ(erf_rational(-inf), -erf_rational(inf));
  EXPECT_EQ(erf_rational(100.f), erf_rational(inf));
  EXPECT_TRUE(std::isnan(erf_rational(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_EQ(erf_rational(0.f), 0.f);
}

TEST(VectorMath, GeluMatchesErfForm) {
  for (float x = -6.f; x <= 6.f; x += 0.05f)
    EXPECT_NEAR(gelu_erf(x), 0.5f * x * (1.f + std::erf(x / std::sqrt(2.f))), 2e-6f) << x;
}

TEST(VectorMath, FastTanhMatchesTanh) {
  for (float x = -50.f; x <= 50.f; x += 0.0137f) {
    const double want = std::tanh(static_cast<double>(x));
    EXPECT_NEAR(fast_tanh(x), want, 3e-7) << x;
    if (std::fabs(x) >= 0.125f) {
      EXPECT_NEAR(fast_tanh(x) / want, 1.0, 2e-6) << x;
    }
  }
  // Near zero, across the switch from the series to the exponential form, and odd.
  for (float x = 1e-6f; x < 0.5f; x *= 1.07f) {
    EXPECT_NEAR(fast_tanh(x) / std::tanh(static_cast<double>(x)), 1.0, 2e-6) << x;
    EXPECT_EQ(fast_tanh(-x), -fast_tanh(x)) << x;
  }
  EXPECT_EQ(fast_tanh(0.f), 0.f);
}

TEST(VectorMath, FastTanhEdges) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(std::isnan(fast_tanh(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_EQ(fast_tanh(inf), 1.f);
  EXPECT_EQ(fast_tanh(-inf), -1.f);
  EXPECT_EQ(fast_tanh(100.f), 1.f);
}

}  // namespace
}  // namespace senti::cpu
