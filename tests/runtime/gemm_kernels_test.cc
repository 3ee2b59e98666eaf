// senti's GEMM kernels (gemm_kernels.h): every ISA variant the host can run, in every precision,
// against plain loops on the unpacked weights, on shapes that are not multiples of the tiles
// (odd rows, columns and K), with the bias/scale/GELU/tanh epilogue, and split by columns as
// threads split them.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/cpu/gemm_kernels.h"
#include "runtime/cpu/vector_math.h"
#include "senti/host_info.h"

namespace senti::cpu {
namespace {

bool host_has(GemmIsa isa) {
  const CpuFeatures f = detect_cpu_features();
  const bool avx2 = f.avx2 && f.fma, avx512 = f.avx512f && f.avx512bw && f.avx512vl && f.fma;
  switch (isa) {
    case GemmIsa::kScalar: return true;
    case GemmIsa::kAvx2: return avx2;
    case GemmIsa::kAvxVnni: return avx2 && f.avx_vnni;
    case GemmIsa::kAvx512: return avx512;
    case GemmIsa::kAvx512Vnni: return avx512 && f.avx512_vnni;
    case GemmIsa::kAvx512Bf16: return avx512 && f.avx512_bf16 && f.avx512_vnni;
  }
  return false;
}

// The activation ranges the int8 kernel of `isa` takes, each a code path of its own (the AVX2 kernel
// adds 2 or 3 K steps in 16 bits by the range).
std::vector<int> activation_limits(GemmIsa isa) {
  if (gemm_fast_activation_limit(isa) == gemm_activation_limit(isa)) return {gemm_activation_limit(isa)};
  return {gemm_activation_limit(isa), gemm_fast_activation_limit(isa)};
}

// The ISAs that have a kernel of their own for the type (others fall back to one of these).
std::vector<GemmIsa> variants(GemmType type) {
  switch (type) {
    case GemmType::kInt8: return {GemmIsa::kScalar, GemmIsa::kAvx2, GemmIsa::kAvxVnni, GemmIsa::kAvx512Vnni};
    case GemmType::kBf16: return {GemmIsa::kScalar, GemmIsa::kAvx512Bf16};
    case GemmType::kFp32: return {GemmIsa::kScalar, GemmIsa::kAvx2, GemmIsa::kAvx512};
  }
  return {};
}

uint16_t to_bf16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

float from_bf16(uint16_t v) {
  const uint32_t u = static_cast<uint32_t>(v) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

struct Problem {
  GemmType type;
  std::size_t rows, n, k, lda;
  int activation_limit;  // int8: the kernel takes u8 up to 2 · activation_limit + 1
  std::vector<int8_t> w8;
  std::vector<uint16_t> w16;
  std::vector<float> w32;
  std::vector<uint8_t> a8;
  std::vector<uint16_t> a16;
  std::vector<float> a32;
  std::vector<float> bias, scales, compensation, row_scales;
  const void* weight = nullptr;  // w8, w16 or w32
  mutable std::vector<std::byte> packed;  // packed for packed_isa (each ISA reads its own panel layout)
  mutable GemmIsa packed_isa = GemmIsa::kScalar;

  // int8: weights in [-weight_limit, weight_limit], activations in [0, 2 · activation_limit + 1] (what
  // the kernel of the ISA under test takes: gemm_activation_limit).
  Problem(GemmType t, std::size_t r, std::size_t n_, std::size_t k_, int weight_limit, uint32_t seed,
          int act_limit = 127)
      : type(t), rows(r), n(n_), k(k_), activation_limit(act_limit) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    std::uniform_int_distribution<int> wq(-weight_limit, weight_limit), aq(0, 2 * activation_limit + 1);
    lda = gemm_padded_k(t, k) + 3;  // a stride beyond the padded K works too
    const std::size_t kp = gemm_padded_k(t, k);
    for (std::size_t i = 0; i < n; ++i) bias.push_back(u(gen));
    if (t == GemmType::kInt8) {
      for (std::size_t i = 0; i < n * k; ++i) w8.push_back(static_cast<int8_t>(wq(gen)));
      for (std::size_t c = 0; c < n; ++c) {
        int32_t sum = 0;
        for (std::size_t i = 0; i < k; ++i) sum += w8[c * k + i];
        scales.push_back(0.01f + 0.01f * std::fabs(u(gen)));
        compensation.push_back(-static_cast<float>(activation_limit + 1) * scales.back() * static_cast<float>(sum));
      }
      a8.assign(rows * lda, 200);  // padding: any value
      for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t j = 0; j < k; ++j) a8[i * lda + j] = static_cast<uint8_t>(aq(gen));
      for (std::size_t i = 0; i < rows; ++i) row_scales.push_back(0.001f + 0.01f * std::fabs(u(gen)));
      weight = w8.data();
    } else if (t == GemmType::kBf16) {
      for (std::size_t i = 0; i < n * k; ++i) w16.push_back(to_bf16(u(gen)));
      a16.assign(rows * lda, to_bf16(7.f));
      for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t j = 0; j < k; ++j) a16[i * lda + j] = to_bf16(u(gen));
      weight = w16.data();
    } else {
      for (std::size_t i = 0; i < n * k; ++i) w32.push_back(u(gen));
      a32.assign(rows * lda, 7.f);
      for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t j = 0; j < k; ++j) a32[i * lda + j] = u(gen);
      weight = w32.data();
    }
    (void)kp;
    pack(GemmIsa::kScalar);
  }

  // Packs the weights (again, after a test changed them) in isa's layout.
  void pack(GemmIsa isa) const {
    packed.resize(gemm_packed_bytes(type, n, k));  // gemm_pack zeroes it first
    gemm_pack(type, isa, weight, n, k, packed.data());
    packed_isa = isa;
  }

  // The arguments for a run on `isa` (the weights packed for it).
  GemmArgs args(GemmIsa isa, float* y, std::size_t ldy, GemmActivation act) const {
    if (packed_isa != isa) pack(isa);
    GemmArgs g;
    g.type = type;
    g.rows = rows;
    g.n = n;
    g.k = k;
    g.a = type == GemmType::kInt8 ? static_cast<const void*>(a8.data())
          : type == GemmType::kBf16 ? static_cast<const void*>(a16.data())
                                    : static_cast<const void*>(a32.data());
    g.lda = lda;
    g.packed = packed.data();
    g.y = y;
    g.ldy = ldy;
    g.bias = bias.data();
    g.activation = act;
    g.weight_scales = scales.data();
    g.compensation = compensation.data();
    g.row_scales = row_scales.data();
    g.activation_limit = activation_limit;
    return g;
  }

  // Plain loops on the unpacked weights, in double.
  std::vector<float> reference(GemmActivation act) const {
    std::vector<float> y(rows * n);
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t c = 0; c < n; ++c) {
        double v = 0;
        if (type == GemmType::kInt8) {
          int64_t acc = 0;
          for (std::size_t i = 0; i < k; ++i) acc += int64_t{a8[r * lda + i]} * w8[c * k + i];
          v = (static_cast<double>(acc) * scales[c] + compensation[c]) * row_scales[r] + bias[c];
        } else {
          for (std::size_t i = 0; i < k; ++i)
            v += type == GemmType::kBf16 ? double{from_bf16(a16[r * lda + i])} * from_bf16(w16[c * k + i])
                                         : double{a32[r * lda + i]} * w32[c * k + i];
          v += bias[c];
        }
        if (act == GemmActivation::kGeluErf) v = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
        if (act == GemmActivation::kTanh) v = std::tanh(v);
        y[r * n + c] = static_cast<float>(v);
      }
    }
    return y;
  }
};

float tolerance(const Problem& p, float magnitude) {
  // fp32 sums in another order; int8 converts s32 sums above 2^24 to float.
  return 2e-5f * static_cast<float>(p.k) * std::max(1.f, magnitude) * (p.type == GemmType::kInt8 ? 4.f : 1.f) + 1e-5f;
}

void expect_matches(const Problem& p, GemmIsa isa, GemmActivation act, const std::string& what) {
  const std::size_t ldy = p.n + 5;
  std::vector<float> y(p.rows * ldy, NAN);
  GemmArgs g = p.args(isa, y.data(), ldy, act);
  gemm_run_columns(isa, g, 0, p.n);
  const std::vector<float> want = p.reference(act);
  float worst = 0.f;
  int bad = 0;
  for (std::size_t r = 0; r < p.rows; ++r) {
    for (std::size_t c = 0; c < p.n; ++c) {
      const float got = y[r * ldy + c], expected = want[r * p.n + c];
      const float diff = std::fabs(got - expected);
      worst = std::max(worst, diff);
      if (!(diff <= tolerance(p, std::fabs(expected))) && ++bad < 5)
        ADD_FAILURE() << what << " row " << r << " col " << c << ": " << got << " vs " << expected;
    }
    for (std::size_t c = p.n; c < ldy; ++c) EXPECT_TRUE(std::isnan(y[r * ldy + c])) << what << ": wrote past n";
  }
  EXPECT_EQ(bad, 0) << what << " worst " << worst;
}

const char* type_name(GemmType t) { return t == GemmType::kInt8 ? "int8" : t == GemmType::kBf16 ? "bf16" : "fp32"; }

struct Shape {
  std::size_t rows, n, k;
};

TEST(GemmKernels, EveryVariantMatchesPlainLoopsOnOddShapes) {
  const Shape shapes[] = {{1, 16, 4}, {1, 1, 1}, {7, 37, 13}, {13, 129, 70}, {6, 64, 64}, {25, 200, 257},
                          {3, 768, 96}, {64, 80, 33}, {5, 2, 31}, {9, 40, 1100},  // several K blocks
                          {300, 40, 1100},  // several row chunks (their activations packed per K block)
                          {1, 200, 257}, {1, 130, 1100}};  // one row: panels read two at a time, tails
  int ran = 0;
  for (GemmType type : {GemmType::kInt8, GemmType::kBf16, GemmType::kFp32}) {
    for (GemmIsa isa : variants(type)) {
      if (!host_has(isa)) {
        std::printf("[skip] %s on %s: host lacks it\n", type_name(type), gemm_isa_name(isa));
        continue;
      }
      uint32_t seed = 1;
      for (const int activation_limit : type == GemmType::kInt8 ? activation_limits(isa) : std::vector<int>{127}) {
        for (const Shape& s : shapes) {
          const int limit = gemm_needs_7bit_weights(isa) ? 63 : 127;
          const Problem p(type, s.rows, s.n, s.k, limit, seed++, activation_limit);
          for (GemmActivation act : {GemmActivation::kNone, GemmActivation::kGeluErf, GemmActivation::kTanh}) {
            expect_matches(p, isa, act,
                           std::string(type_name(type)) + "/" + gemm_isa_name(isa) + " " + std::to_string(s.rows) +
                               "x" + std::to_string(s.n) + "x" + std::to_string(s.k) + " act " +
                               std::to_string(static_cast<int>(act)) + " activations ±" +
                               std::to_string(activation_limit));
            ++ran;
          }
        }
      }
    }
  }
  EXPECT_GT(ran, 0);
}

// Weights and activations at the extremes of what each ISA takes: VNNI's 32-bit sums must not
// saturate (vpdpbusd does not); 7-bit weights must not saturate the AVX2 16-bit pair sums, nor the
// sum of two of them at ±63 activation levels (columns of one sign: 4 · 127 · 63 = 32004 < 2^15), nor
// of three at ±42 (6 · 85 · 63 = 32130).
TEST(GemmKernels, Int8ExtremesDoNotSaturate) {
  for (GemmIsa isa : variants(GemmType::kInt8)) {
    if (!host_has(isa)) continue;
    for (const int activation_limit : activation_limits(isa)) {
    const int limit = gemm_needs_7bit_weights(isa) ? 63 : 127;
    Problem p(GemmType::kInt8, 3, 40, 3072, limit, 99, activation_limit);
    for (auto& v : p.a8) v = static_cast<uint8_t>(2 * activation_limit + 1);
    // Column c (row c of the [n, k] weight): all of one sign, or alternating every third entry.
    for (std::size_t i = 0; i < p.w8.size(); ++i) {
      const std::size_t c = i / p.k;
      p.w8[i] = static_cast<int8_t>(c % 3 == 0 ? -limit : c % 3 == 1 ? limit : (i % 3 == 0 ? -limit : limit));
    }
    p.pack(isa);
    expect_matches(p, isa, GemmActivation::kNone,
                   std::string("extremes ") + gemm_isa_name(isa) + " activations ±" + std::to_string(activation_limit));
    }
  }
}

// Threads split the columns at panel boundaries: any split gives the same numbers as one call.
TEST(GemmKernels, ColumnSplitsGiveTheSameResult) {
  const GemmIsa isa = gemm_isa(GemmType::kInt8);
  const Problem p(GemmType::kInt8, 9, 300, 100, gemm_needs_7bit_weights(isa) ? 63 : 127, 5, gemm_activation_limit(isa));
  std::vector<float> whole(p.rows * p.n), split(p.rows * p.n);
  gemm_run_columns(isa, p.args(isa, whole.data(), p.n, GemmActivation::kGeluErf), 0, p.n);
  const GemmArgs g = p.args(isa, split.data(), p.n, GemmActivation::kGeluErf);
  for (std::size_t c : {std::size_t{0}, std::size_t{64}, std::size_t{192}}) {
    const std::size_t end = c == 192 ? p.n : c + (c == 0 ? 64 : 128);
    gemm_run_columns(isa, g, c, end);
  }
  EXPECT_EQ(whole, split);
  std::vector<float> threaded(p.rows * p.n);
  gemm_run(isa, p.args(isa, threaded.data(), p.n, GemmActivation::kGeluErf), 2);
  EXPECT_EQ(whole, threaded);
}

// A column range (the last layer's keys and values without its queries: CpuBackend::last_layer_qkv)
// split over threads (wide enough to be split: gemm_run's kParallelWork): the same values as the whole
// call in its columns, nothing written outside them. The threads take the range's panels as they go
// (gemm_run's claims), with one K block (k 700) and several (k 2100: each claimed range runs all of
// them, the accumulators kept raw in y between blocks); 11 rows, and one (whose tiles read two panels
// at once where both lie in the range; k 4200 so that its wider ranges are split over threads too).
TEST(GemmKernels, ColumnRangeComputesOnlyItsColumns) {
  int ran = 0;
  for (GemmType type : {GemmType::kInt8, GemmType::kBf16, GemmType::kFp32}) {
    for (GemmIsa isa : variants(type)) {
      for (auto [rows, k] : {std::pair<std::size_t, std::size_t>{11, 700}, {11, 2100}, {1, 700}, {1, 4200}}) {
        if (!host_has(isa)) continue;
        const std::size_t panel = gemm_panel_columns(type, isa);
        const Problem p(type, rows, 8 * panel + 7, k, gemm_needs_7bit_weights(isa) ? 63 : 127, 23,
                        gemm_activation_limit(isa));
        std::vector<float> whole(p.rows * p.n);
        gemm_run_columns(isa, p.args(isa, whole.data(), p.n, GemmActivation::kGeluErf), 0, p.n);
        for (auto [begin, end] : {std::pair{panel, p.n}, std::pair{std::size_t{0}, panel}, std::pair{2 * panel, 6 * panel}}) {
          for (int threads : {1, 2, 3}) {
            std::vector<float> part(p.rows * p.n, NAN);
            gemm_run(isa, p.args(isa, part.data(), p.n, GemmActivation::kGeluErf), threads, begin, end);
            for (std::size_t r = 0; r < p.rows; ++r) {
              for (std::size_t c = 0; c < p.n; ++c) {
                const float got = part[r * p.n + c];
                if (c >= begin && c < end) {
                  ASSERT_EQ(std::memcmp(&got, &whole[r * p.n + c], sizeof got), 0)
                      << type_name(type) << "/" << gemm_isa_name(isa) << " [" << begin << ", " << end << ") " << threads
                      << " threads: row " << r << " col " << c << ": " << got << " vs " << whole[r * p.n + c];
                } else {
                  ASSERT_TRUE(std::isnan(got)) << type_name(type) << "/" << gemm_isa_name(isa) << " [" << begin << ", "
                                               << end << "): wrote col " << c;
                }
              }
            }
            ++ran;
          }
        }
      }
    }
  }
  EXPECT_GT(ran, 0);
}

// A row's result never depends on the other rows of its call (batch == single, bit for bit): every
// variant computes each row of a call exactly as a call of that row alone, or of any window of rows
// around it (full tiles, row tails and column tails alike), with each epilogue: a 37-row call, and
// one of 140 rows whose K blocks and row chunks are several.
TEST(GemmKernels, EachRowGetsItsResultAloneWhateverTheOtherRows) {
  int ran = 0;
  for (GemmType type : {GemmType::kInt8, GemmType::kBf16, GemmType::kFp32}) {
    for (GemmIsa isa : variants(type)) {
      if (!host_has(isa)) continue;
      for (const Shape& s : {Shape{37, 200, 257}, Shape{140, 40, 1100}}) {
        const Problem p(type, s.rows, s.n, s.k, gemm_needs_7bit_weights(isa) ? 63 : 127, 11, gemm_activation_limit(isa));
        for (GemmActivation act : {GemmActivation::kNone, GemmActivation::kGeluErf, GemmActivation::kTanh}) {
          std::vector<float> whole(p.rows * p.n);
          gemm_run_columns(isa, p.args(isa, whole.data(), p.n, act), 0, p.n);
          for (std::size_t first = 0; first < p.rows; first += 3) {
            for (std::size_t count : {std::size_t{1}, std::size_t{2}, std::size_t{5}, std::size_t{7}, std::size_t{13}}) {
              const std::size_t rows = std::min(count, p.rows - first);
              std::vector<float> part(rows * p.n, NAN);
              GemmArgs g = p.args(isa, part.data(), p.n, act);
              const std::size_t element = type == GemmType::kInt8 ? 1 : type == GemmType::kBf16 ? 2 : 4;
              g.a = static_cast<const std::byte*>(g.a) + first * p.lda * element;
              g.rows = rows;
              if (type == GemmType::kInt8) g.row_scales += first;
              gemm_run_columns(isa, g, 0, p.n);
              for (std::size_t i = 0; i < rows * p.n; ++i) {
                if (std::memcmp(&part[i], &whole[first * p.n + i], sizeof(float)) != 0) {
                  ADD_FAILURE() << type_name(type) << "/" << gemm_isa_name(isa) << " act " << static_cast<int>(act)
                                << ": rows [" << first << ", " << first + rows << ") element " << i << ": " << part[i]
                                << " vs " << whole[first * p.n + i] << " in the whole call";
                  return;
                }
              }
            }
          }
          ++ran;
        }
      }
      std::printf("[ran] %s on %s: rows independent\n", type_name(type), gemm_isa_name(isa));
    }
  }
  EXPECT_GT(ran, 0);
}

TEST(GemmKernels, PackedSizesAndNames) {
  EXPECT_EQ(gemm_packed_bytes(GemmType::kInt8, 768, 768), 768u * 768u);
  EXPECT_EQ(gemm_packed_bytes(GemmType::kInt8, 2, 31), 16u * 32u);
  EXPECT_EQ(gemm_packed_bytes(GemmType::kBf16, 17, 3), 32u * 4u * 2u);
  EXPECT_EQ(gemm_packed_bytes(GemmType::kFp32, 5, 5), 16u * 5u * 4u);
  EXPECT_EQ(gemm_kernel_name(GemmType::kInt8, GemmIsa::kAvx512Vnni), "senti-int8-avx512_vnni");
  // The 512-bit kernels' tiles span 64 columns; the 256-bit ones (int8 without VNNI on an AVX-512
  // host included) and the scalar one read 16-column panels.
  EXPECT_EQ(gemm_panel_columns(GemmType::kFp32, GemmIsa::kAvx512), 64u);
  EXPECT_EQ(gemm_panel_columns(GemmType::kInt8, GemmIsa::kAvx512Vnni), 64u);
  EXPECT_EQ(gemm_panel_columns(GemmType::kBf16, GemmIsa::kAvx512Bf16), 64u);
  EXPECT_EQ(gemm_panel_columns(GemmType::kInt8, GemmIsa::kAvx512), 16u);
  EXPECT_EQ(gemm_panel_columns(GemmType::kFp32, GemmIsa::kAvx2), 16u);
  EXPECT_EQ(gemm_panel_columns(GemmType::kInt8, GemmIsa::kAvxVnni), 16u);
  EXPECT_EQ(gemm_panel_columns(GemmType::kFp32, GemmIsa::kScalar), 16u);
}

}  // namespace
}  // namespace senti::cpu
