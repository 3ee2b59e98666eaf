// Per-kernel micro-benchmark and roofline of this machine.
//   senti_kernel_bench [--peaks] [--rows 1,18,32,64,256] [--precision int8,bf16,fp32] [--threads N]
//                      [--shapes 2304x768,768x768,3072x768,768x3072] [--iters N] [--cold] [--attention 18,128,512]
// --peaks measures the machine's ceilings on one core: int8 VNNI ops/s (vpdpbusd), bf16 FLOP/s
// (vdpbf16ps) and fp32 FLOP/s (FMA) with register-only loops, and read bandwidth at several
// working-set sizes (L1, L2, L3, DRAM). Then, for each precision, shape (n × k: BERT-base/rbt3's
// QKV, attention output, intermediate, output) and row count, it times the whole PackedLinear
// call (activation conversion + GEMM + epilogue) on senti's kernel and on oneDNN's, and prints
// GOP/s, the fraction of the compute peak, and the floor: max(compute at peak, weight bytes at the
// bandwidth of the cache level the weights fit in). Timings are the median thread CPU time per call
// (with --threads 1 that is all the work, robust on a shared machine); with more threads, wall time.
// --cold: before each timed call, evicts the caches (writes a buffer of 4x the L3 size, 64-256 MB),
// so that the weights come from DRAM, as in serving, where the model (rbt3 int8: 22 MB) is more than
// the L3 share a process keeps between two requests; the floor then takes the DRAM bandwidth.
// --attention L,...: instead, times self-attention of one sequence of each length (12 heads of 64, rbt3's
// and BERT-base's) on each of senti's kernel variants the host runs (fused_attention.h) and on per-head
// oneDNN matmuls (attention.h), in GFLOP/s (4·L²·768 per call) and as a fraction of the fp32 FMA peak.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <immintrin.h>
#include <unistd.h>
#include <omp.h>

#include "runtime/cpu/attention.h"
#include "runtime/cpu/fused_attention.h"
#include "runtime/cpu/gemm_kernels.h"
#include "runtime/cpu/kernel_isa.h"
#include "runtime/cpu/packed_linear.h"
#include "runtime/cpu/precision.h"
#include "senti/host_info.h"
#include "split_list.h"

namespace {

using senti::cpu::Activation;
using senti::cpu::PackedLinear;
using senti::cpu::Precision;

using senti::bench::split;

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// GCC 12's AVX-512 headers trip -Wuninitialized on their own _mm*_undefined_*().
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)  // a GCC-only warning
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

// ---- peaks: independent accumulator chains, so throughput (not latency) bounds the loop ----------

constexpr int kChains = 16;
constexpr long kPeakIters = 20'000'000;

// One AVX-512 peak loop: sixteen accumulators in named registers, the operand made opaque per iteration
// (so the compiler can neither hoist nor fold the products). As an array with an empty asm per element,
// GCC kept the sixteen on the stack, a load and a store per instruction: store-bound, on Zen 4 (one
// 512-bit store per two cycles) that loop read 197 GOP/s int8, 95 GFLOP/s bf16 and 52 GFLOP/s fp32 while
// senti's own int8 kernel ran at 430-440 GOP/s. Op: a struct with V, zero(), operand() and step(acc, x).
#define SENTI_PEAK_512_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni,avx512bf16,fma")))
template <class Op>
SENTI_PEAK_512_TARGET double chains16_per_s(double ops_per_instruction) {
  using V = typename Op::V;
  V a0 = Op::zero(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0,
    a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
  V x = Op::operand();
  // The chains are equal: only these barriers (the accumulators in registers, "+v") keep the compiler
  // from computing one and copying it.
  const double t0 = thread_cpu_seconds();
  for (long i = 0; i < kPeakIters; ++i) {
    __asm__ volatile("" : "+v"(x));
    a0 = Op::step(a0, x), a1 = Op::step(a1, x), a2 = Op::step(a2, x), a3 = Op::step(a3, x);
    a4 = Op::step(a4, x), a5 = Op::step(a5, x), a6 = Op::step(a6, x), a7 = Op::step(a7, x);
    a8 = Op::step(a8, x), a9 = Op::step(a9, x), a10 = Op::step(a10, x), a11 = Op::step(a11, x);
    a12 = Op::step(a12, x), a13 = Op::step(a13, x), a14 = Op::step(a14, x), a15 = Op::step(a15, x);
    __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5), "+v"(a6), "+v"(a7));
    __asm__ volatile("" : "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11), "+v"(a12), "+v"(a13), "+v"(a14), "+v"(a15));
  }
  const double t = thread_cpu_seconds() - t0;
  // Every chain feeds the result, so none is dead code.
  const V sum = Op::add(Op::add(Op::add(Op::add(a0, a1), Op::add(a2, a3)), Op::add(Op::add(a4, a5), Op::add(a6, a7))),
                        Op::add(Op::add(Op::add(a8, a9), Op::add(a10, a11)), Op::add(Op::add(a12, a13), Op::add(a14, a15))));
  if (Op::first(sum) == 42.f) std::printf(" ");
  return ops_per_instruction * kChains * static_cast<double>(kPeakIters) / t;
}

struct VnniPeak {
  using V = __m512i;
  SENTI_PEAK_512_TARGET static V zero() { return _mm512_setzero_si512(); }
  SENTI_PEAK_512_TARGET static V operand() { return _mm512_set1_epi8(3); }
  SENTI_PEAK_512_TARGET static V step(V a, V x) { return _mm512_dpbusd_epi32(a, x, x); }
  SENTI_PEAK_512_TARGET static V add(V a, V b) { return _mm512_add_epi32(a, b); }
  SENTI_PEAK_512_TARGET static float first(V a) { return static_cast<float>(_mm_cvtsi128_si32(_mm512_castsi512_si128(a))); }
};

// The fp32-accumulating loops (bf16 and fp32) share their accumulator type and its operations.
struct FloatAccumulators {
  using V = __m512;
  SENTI_PEAK_512_TARGET static V zero() { return _mm512_setzero_ps(); }
  SENTI_PEAK_512_TARGET static V add(V a, V b) { return _mm512_add_ps(a, b); }
  SENTI_PEAK_512_TARGET static float first(V a) { return _mm512_cvtss_f32(a); }
};

struct Bf16Peak : FloatAccumulators {
  SENTI_PEAK_512_TARGET static V operand() { return _mm512_set1_ps(1.0078125f); }  // 0x3F81 in both bf16 halves
  SENTI_PEAK_512_TARGET static V step(V a, V x) {
    return _mm512_dpbf16_ps(a, reinterpret_cast<__m512bh>(x), reinterpret_cast<__m512bh>(x));
  }
};

struct Fp32Peak : FloatAccumulators {
  SENTI_PEAK_512_TARGET static V operand() { return _mm512_set1_ps(1.0001f); }
  SENTI_PEAK_512_TARGET static V step(V a, V x) { return _mm512_fmadd_ps(a, x, x); }
};

double vnni_ops_per_s() { return chains16_per_s<VnniPeak>(2.0 * 64); }  // 64 u8·s8 products per instruction
double bf16_flops() { return chains16_per_s<Bf16Peak>(2.0 * 32); }
double fp32_flops() { return chains16_per_s<Fp32Peak>(2.0 * 16); }

// AVX2 hosts: 256-bit FMA, and int8 as senti's AVX2 kernel does it (three vpmaddubsw added in 16 bits, one
// vpmaddwd by ones, vpaddd: gemm_kernels.cc, Int8Avx2::dot_steps; on the AVX2 host 131 GOP/s with one
// vpmaddwd per vpmaddubsw, 244 with one per two, 261 with one per three). With 16 ymm
// registers only, 16 chains in an array went through the stack (the fp32 loop measured 26 GFLOP/s, half of
// what senti's own kernel then reached): 12 fp32 and 8 int8 chains in named registers.
constexpr int kChainsAvx2Fp32 = 12;
constexpr int kChainsAvx2Int8 = 8;

__attribute__((target("avx2,fma"))) double fp32_flops_avx2() {
  // Twelve named accumulators: as an array, GCC stored every one of them to the stack each iteration
  // (a store-bound loop that measured half the FMA rate).
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0,
         a10 = a0, a11 = a0;
  const __m256 x = _mm256_set1_ps(1.0001f);
  const double t0 = thread_cpu_seconds();
  for (long i = 0; i < kPeakIters; ++i) {
    a0 = _mm256_fmadd_ps(a0, x, x), a1 = _mm256_fmadd_ps(a1, x, x), a2 = _mm256_fmadd_ps(a2, x, x);
    a3 = _mm256_fmadd_ps(a3, x, x), a4 = _mm256_fmadd_ps(a4, x, x), a5 = _mm256_fmadd_ps(a5, x, x);
    a6 = _mm256_fmadd_ps(a6, x, x), a7 = _mm256_fmadd_ps(a7, x, x), a8 = _mm256_fmadd_ps(a8, x, x);
    a9 = _mm256_fmadd_ps(a9, x, x), a10 = _mm256_fmadd_ps(a10, x, x), a11 = _mm256_fmadd_ps(a11, x, x);
    __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5));
    __asm__ volatile("" : "+x"(a6), "+x"(a7), "+x"(a8), "+x"(a9), "+x"(a10), "+x"(a11));
  }
  const double t = thread_cpu_seconds() - t0;
  const float sink = _mm256_cvtss_f32(_mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                                                    _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)))) +
                     _mm256_cvtss_f32(_mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
  if (sink == 42.f) std::printf(" ");
  return 2.0 * 8 * kChainsAvx2Fp32 * static_cast<double>(kPeakIters) / t;
}

__attribute__((target("avx2"))) double int8_ops_avx2() {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  const __m256i x = _mm256_set1_epi8(3), w = _mm256_set1_epi8(5), ones = _mm256_set1_epi16(1);
  // x made opaque per chain: the compiler may neither hoist the loop-invariant products nor share them.
#define SENTI_INT8_STEP(a)                                                                                  \
  do {                                                                                                      \
    __m256i xi = x, xj = x, xk = x;                                                                         \
    __asm__ volatile("" : "+x"(xi), "+x"(xj), "+x"(xk));                                                    \
    a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_add_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(xi, w),      \
                                                                                 _mm256_maddubs_epi16(xj, w)),    \
                                                                _mm256_maddubs_epi16(xk, w)),                     \
                                              ones));                                                             \
  } while (0)
  const double t0 = thread_cpu_seconds();
  for (long i = 0; i < kPeakIters / 3; ++i) {
    SENTI_INT8_STEP(a0); SENTI_INT8_STEP(a1); SENTI_INT8_STEP(a2); SENTI_INT8_STEP(a3);
    SENTI_INT8_STEP(a4); SENTI_INT8_STEP(a5); SENTI_INT8_STEP(a6); SENTI_INT8_STEP(a7);
    __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5), "+x"(a6), "+x"(a7));
  }
  const double t = thread_cpu_seconds() - t0;
  const int sink = _mm256_cvtsi256_si32(_mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3)),
                                                         _mm256_add_epi32(_mm256_add_epi32(a4, a5), _mm256_add_epi32(a6, a7))));
  if (sink == 42) std::printf(" ");
  return 2.0 * 96 * kChainsAvx2Int8 * static_cast<double>(kPeakIters / 3) / t;  // 96 u8·s8 products per step
#undef SENTI_INT8_STEP
}

__attribute__((target("avx2"))) double read_bandwidth_avx2(std::size_t bytes) {
  const std::size_t n = bytes / 32;
  auto* buffer = static_cast<__m256i*>(std::aligned_alloc(64, n * 32));
  for (std::size_t i = 0; i < n; ++i) buffer[i] = _mm256_set1_epi32(static_cast<int>(i));
  const std::size_t reps = std::max<std::size_t>(1, (std::size_t{1} << 30) / bytes);
  std::vector<double> times;
  __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
  for (int trial = 0; trial < 3; ++trial) {
    const double t0 = thread_cpu_seconds();
    for (std::size_t r = 0; r < reps; ++r) {
      for (std::size_t i = 0; i + 4 <= n; i += 4) {
        s0 = _mm256_xor_si256(s0, buffer[i]);
        s1 = _mm256_xor_si256(s1, buffer[i + 1]);
        s2 = _mm256_xor_si256(s2, buffer[i + 2]);
        s3 = _mm256_xor_si256(s3, buffer[i + 3]);
      }
    }
    times.push_back(thread_cpu_seconds() - t0);
  }
  const __m256i s = _mm256_xor_si256(_mm256_xor_si256(s0, s1), _mm256_xor_si256(s2, s3));
  if (_mm256_cvtsi256_si32(s) == 42) std::printf(" ");
  std::free(buffer);
  return static_cast<double>(bytes) * static_cast<double>(reps) / *std::min_element(times.begin(), times.end());
}

// Read bandwidth (bytes/s) over a working set of `bytes`, repeated to at least ~1 GB read.
__attribute__((target("avx512f"))) double read_bandwidth(std::size_t bytes) {
  const std::size_t n = bytes / 64;
  auto* buffer = static_cast<__m512i*>(std::aligned_alloc(64, n * 64));
  for (std::size_t i = 0; i < n; ++i) buffer[i] = _mm512_set1_epi32(static_cast<int>(i));
  const std::size_t reps = std::max<std::size_t>(1, (std::size_t{1} << 30) / bytes);
  std::vector<double> times;
  __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
  for (int trial = 0; trial < 3; ++trial) {
    const double t0 = thread_cpu_seconds();
    for (std::size_t r = 0; r < reps; ++r) {
      for (std::size_t i = 0; i + 4 <= n; i += 4) {
        s0 = _mm512_xor_si512(s0, buffer[i]);
        s1 = _mm512_xor_si512(s1, buffer[i + 1]);
        s2 = _mm512_xor_si512(s2, buffer[i + 2]);
        s3 = _mm512_xor_si512(s3, buffer[i + 3]);
      }
    }
    times.push_back(thread_cpu_seconds() - t0);
  }
  const __m512i s = _mm512_xor_si512(_mm512_xor_si512(s0, s1), _mm512_xor_si512(s2, s3));
  if (_mm_cvtsi128_si32(_mm512_castsi512_si128(s)) == 42) std::printf(" ");
  std::free(buffer);
  return static_cast<double>(bytes) * static_cast<double>(reps) / *std::min_element(times.begin(), times.end());
}

#pragma GCC diagnostic pop

struct Peaks {
  double int8 = 0, bf16 = 0, fp32 = 0;
  std::vector<std::pair<std::size_t, double>> bandwidth;  // working set bytes, bytes/s
  // Bandwidth for streaming `bytes` once: the level it fits in (the largest measured set at least
  // that big).
  double bandwidth_for(std::size_t bytes) const {
    for (const auto& [size, bw] : bandwidth)
      if (size >= bytes) return bw;
    return bandwidth.back().second;
  }
};

// The best of several runs: a ceiling, which a neighbour on a shared host can only lower (one run on
// the AVX2 host once read 187 GOP/s for a loop that gives 261-269, and the kernels then "exceeded" it).
template <class Measure>
double best_of(int runs, Measure measure) {
  double best = 0;
  for (int i = 0; i < runs; ++i) best = std::max(best, measure());
  return best;
}

Peaks measure_peaks() {
  const senti::CpuFeatures f = senti::detect_cpu_features();
  Peaks p;
  const bool avx512 = f.avx512f && f.avx512bw;
  constexpr int kRuns = 5;
  p.int8 = avx512 && f.avx512_vnni ? best_of(kRuns, vnni_ops_per_s) : f.avx2 ? best_of(kRuns, int8_ops_avx2) : 0;
  if (avx512 && f.avx512_bf16) p.bf16 = best_of(kRuns, bf16_flops);
  p.fp32 = avx512 ? best_of(kRuns, fp32_flops) : f.avx2 && f.fma ? best_of(kRuns, fp32_flops_avx2) : 0;
  std::printf("## Peaks, one core (register-only loops of independent chains: %d with AVX-512, %d int8 / %d fp32 with AVX2; best of %d runs)\n\n",
              kChains, kChainsAvx2Int8, kChainsAvx2Fp32, kRuns);
  std::printf("| what | peak |\n|---|---:|\n");
  std::printf("| int8 (%s) | %.0f GOP/s |\n",
              avx512 && f.avx512_vnni ? "vpdpbusd zmm" : "3 vpmaddubsw + 2 vpaddw + vpmaddwd + vpaddd ymm", p.int8 * 1e-9);
  std::printf("| bf16 (vdpbf16ps zmm) | %s |\n", p.bf16 > 0 ? (std::to_string(static_cast<int>(p.bf16 * 1e-9)) + " GFLOP/s").c_str() : "no AVX512-BF16");
  std::printf("| fp32 (FMA %s) | %.0f GFLOP/s |\n", avx512 ? "zmm" : "ymm", p.fp32 * 1e-9);
  if (f.avx2) {
    for (std::size_t kb : {16, 256, 2048, 8192, 24576, 262144}) {
      const double bw = best_of(3, [&] { return avx512 ? read_bandwidth(kb << 10) : read_bandwidth_avx2(kb << 10); });
      p.bandwidth.emplace_back(kb << 10, bw);
      std::printf("| read bandwidth, %zu KiB working set | %.1f GB/s |\n", kb, bw * 1e-9);
    }
  }
  std::printf("\n");
  return p;
}

// ---- per-kernel timing ---------------------------------------------------------------------------

struct Timing {
  double seconds = 0;
  std::string kernel;
};

// Written before each timed call with --cold (empty otherwise): evicts the caches, untimed.
std::vector<unsigned char> g_evict;

void evict_caches() {
  for (std::size_t i = 0; i < g_evict.size(); i += 64) g_evict[i] = static_cast<unsigned char>(g_evict[i] + 1);
}

// Median time of `iters` calls of fn (thread CPU time with one thread, else wall time), after `warmups`;
// with --cold the caches are evicted before each timed call.
template <class Fn>
double time_calls(Fn&& fn, int iters, int threads, int warmups) {
  for (int i = 0; i < warmups; ++i) fn();
  std::vector<double> times;
  for (int i = 0; i < iters; ++i) {
    evict_caches();
    const double t0 = threads == 1 ? thread_cpu_seconds() : wall_seconds();
    fn();
    times.push_back((threads == 1 ? thread_cpu_seconds() : wall_seconds()) - t0);
  }
  return median(times);
}

Timing time_linear(Precision precision, const char* gemm, std::size_t n, std::size_t k, std::size_t rows,
                   const std::vector<float>& weight, const std::vector<float>& bias, const std::vector<float>& x,
                   int iters, int threads) {
  setenv("SENTI_GEMM", gemm, 1);
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  PackedLinear linear(engine, weight.data(), bias.data(), n, k, Activation::kNone, precision);
  const std::size_t padded = PackedLinear::padded_rows(rows);
  std::vector<float> in(padded * k), y(padded * n);
  std::copy_n(x.begin(), static_cast<std::ptrdiff_t>(rows * k), in.begin());
  linear.prepare(padded);
  const double seconds = time_calls([&] {
    linear.forward(stream, in.data(), rows, y.data(), true);
    stream.wait();
  }, iters, threads, 3);
  unsetenv("SENTI_GEMM");
  return {seconds, linear.implementation()};
}

// Self-attention of one sequence per length: senti's variants and oneDNN's per-head matmuls.
void attention_table(const std::vector<std::size_t>& lengths, double fp32_peak, int threads, int iters) {
  constexpr std::size_t kHeads = 12, kHeadDim = 64, kHidden = kHeads * kHeadDim;
  std::printf("## Self-attention of one sequence, %zu heads of %zu (%s time, median)\n\n", kHeads, kHeadDim,
              threads == 1 ? "thread CPU" : "wall");
  std::printf("| tokens | kernel | µs | GFLOP/s | of fp32 peak (%d core) | × oneDNN matmuls |\n|---:|---|---:|---:|---:|---:|\n",
              threads);
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  senti::cpu::PackedAttention onednn(engine, kHeads, kHeadDim);
  std::mt19937 gen(11);
  std::normal_distribution<float> normal(0.f, 1.f);
  for (std::size_t length : lengths) {
    std::vector<float> qkv(length * 3 * kHidden), context(length * kHidden);
    for (auto& v : qkv) v = normal(gen);
    const std::vector<std::size_t> offsets = {0, length};
    const double flops = 4.0 * static_cast<double>(length * length * kHidden);
    const int it = iters > 0 ? iters : static_cast<int>(std::clamp(2e10 / (flops * 8), 10.0, 2000.0));
    const double base = time_calls([&] {
      onednn.forward(stream, qkv.data(), offsets, context.data());
      stream.wait();
    }, it, threads, 2);
    auto row = [&](const std::string& name, double seconds) {
      std::printf("| %zu | %s | %.1f | %.1f | %s | %.2f× |\n", length, name.c_str(), seconds * 1e6, flops / seconds * 1e-9,
                  fp32_peak > 0 ? (std::to_string(static_cast<int>(100 * flops / seconds / (fp32_peak * threads))) + "%").c_str()
                                : "-",
                  base / seconds);
    };
    row("oneDNN matmuls per head", base);
    for (senti::cpu::KernelIsa isa : {senti::cpu::KernelIsa::kScalar, senti::cpu::KernelIsa::kAvx2,
                                      senti::cpu::KernelIsa::kAvx512}) {
      if (static_cast<int>(isa) > static_cast<int>(senti::cpu::kernel_isa())) continue;
      row(std::string("senti ") + senti::cpu::kernel_isa_name(isa), time_calls([&] {
            senti::cpu::fused_attention(isa, qkv.data(), offsets.data(), 1, kHeads, kHeadDim, context.data());
          }, it, threads, 2));
    }
    std::fflush(stdout);
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  bool peaks_only = false, peaks = false;
  std::vector<std::string> precisions = {"int8", "bf16", "fp32"};
  std::vector<std::string> shapes = {"2304x768", "768x768", "3072x768", "768x3072"};
  std::vector<std::size_t> rows = {1, 18, 32, 64, 256};
  std::vector<std::size_t> attention;
  int threads = 1, iters = 0;
  bool cold = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--peaks") peaks = true;
    else if (a == "--peaks-only") peaks = peaks_only = true;
    else if (a == "--precision") precisions = split(next(), ',');
    else if (a == "--shapes") shapes = split(next(), ',');
    else if (a == "--rows") {
      rows.clear();
      for (const auto& r : split(next(), ',')) rows.push_back(std::stoul(r));
    } else if (a == "--threads") threads = std::stoi(next());
    else if (a == "--iters") iters = std::stoi(next());
    else if (a == "--cold") cold = true;
    else if (a == "--attention") {
      for (const auto& l : split(next(), ',')) attention.push_back(std::stoul(l));
    } else {
      std::printf("usage: senti_kernel_bench [--peaks|--peaks-only] [--precision int8,bf16,fp32] [--rows 1,18,64]\n"
                  "                          [--shapes NxK,...] [--threads N] [--iters N] [--cold] [--attention L,...]\n");
      return a == "--help" ? 0 : 2;
    }
  }
  omp_set_num_threads(threads);
  const senti::HostInfo host = senti::detect_host();
  std::printf("# senti_kernel_bench: %s, %d thread(s), oneDNN %s (%s)\n\n", host.cpu_model.c_str(), threads,
              host.onednn_version.c_str(), host.onednn_isa.c_str());
  Peaks p;
  if (peaks) p = measure_peaks();
  if (peaks_only) return 0;
  if (cold) {
    const long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
    // 4x the L3 the OS reports, within [64, 256] MB (a VM may report its host's whole L3 or none).
    const std::size_t l3_bytes = static_cast<std::size_t>(std::max(l3, 0L));
    g_evict.assign(std::clamp<std::size_t>(4 * l3_bytes, 64u << 20, 256u << 20), 0);
    std::printf("Cold: the caches are evicted before each timed call (%zu MB written, untimed).\n\n", g_evict.size() >> 20);
  }
  if (!attention.empty()) {
    attention_table(attention, p.fp32, threads, iters);
    return 0;
  }

  std::printf("## PackedLinear per call: senti vs oneDNN (%s time, median)\n\n",
              threads == 1 ? "thread CPU" : "wall");
  std::printf("| precision | n×k | rows | senti kernel | senti µs | oneDNN kernel | oneDNN µs | senti/oneDNN speed-up "
              "| senti GOP/s | of peak (%d core) | floor µs | senti/floor |\n|---|---|---:|---|---:|---|---:|---:|---:|---:|---:|---:|\n",
              threads);
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (const auto& shape : shapes) {
    const auto nk = split(shape, 'x');
    const std::size_t n = std::stoul(nk.at(0)), k = std::stoul(nk.at(1));
    std::vector<float> weight(n * k), bias(n);
    for (auto& v : weight) v = u(gen) * 0.05f;
    for (auto& v : bias) v = u(gen);
    std::vector<float> x(rows.empty() ? 0 : *std::max_element(rows.begin(), rows.end()) * k);
    for (auto& v : x) v = u(gen);
    for (const auto& name : precisions) {
      const Precision precision = name == "int8" ? Precision::kInt8 : name == "bf16" ? Precision::kBf16 : Precision::kFp32;
      if (!senti::cpu::host_supports(precision, senti::detect_cpu_features())) {
        std::printf("| %s | %zu×%zu | - | not run by this CPU |%s\n", name.c_str(), n, k, std::string(8, '|').c_str());
        continue;
      }
      const std::size_t bytes_per_weight = precision == Precision::kInt8 ? 1 : precision == Precision::kBf16 ? 2 : 4;
      const double peak = (precision == Precision::kInt8 ? p.int8 : precision == Precision::kBf16 ? p.bf16 : p.fp32) *
                          threads;
      for (std::size_t r : rows) {
        const double ops = 2.0 * static_cast<double>(r * n * k);
        const int it = iters > 0 ? iters : static_cast<int>(std::clamp(2e10 / (ops * 8), 20.0, 2000.0));
        const Timing senti = time_linear(precision, "senti", n, k, r, weight, bias, x, it, threads);
        const Timing onednn = time_linear(precision, "onednn", n, k, r, weight, bias, x, it, threads);
        double floor = 0;
        if (peak > 0 && !p.bandwidth.empty()) {
          const double weight_bytes = static_cast<double>(n * k * bytes_per_weight);
          const double bandwidth = cold ? p.bandwidth.back().second : p.bandwidth_for(n * k * bytes_per_weight);
          floor = std::max(ops / peak, weight_bytes / (bandwidth * threads));
        }
        std::printf("| %s | %zu×%zu | %zu | %s | %.1f | %s | %.1f | %.2f× | %.0f | %s | %s | %s |\n", name.c_str(), n, k, r,
                    senti.kernel.c_str(), senti.seconds * 1e6, onednn.kernel.c_str(), onednn.seconds * 1e6,
                    onednn.seconds / senti.seconds, ops / senti.seconds * 1e-9,
                    peak > 0 ? (std::to_string(static_cast<int>(100 * ops / senti.seconds / peak)) + "%").c_str() : "-",
                    floor > 0 ? std::to_string(floor * 1e6).substr(0, 6).c_str() : "-",
                    floor > 0 ? (std::to_string(senti.seconds / floor).substr(0, 4) + "×").c_str() : "-");
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
