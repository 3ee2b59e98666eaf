// fast_exp and gelu_erf (runtime/cpu/vector_math.h) against the library functions, and at the edges:
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

TEST(VectorMath, GeluMatchesErfForm) {
  for (float x = -6.f; x <= 6.f; x += 0.05f)
    EXPECT_NEAR(gelu_erf(x), 0.5f * x * (1.f + std::erf(x / std::sqrt(2.f))), 2e-6f) << x;
}

}  // namespace
}  // namespace senti::cpu
