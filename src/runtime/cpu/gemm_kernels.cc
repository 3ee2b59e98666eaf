#include "runtime/cpu/gemm_kernels.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "runtime/cpu/simd_intrinsics.h"

#include "runtime/cpu/compute_pool.h"
#include "runtime/cpu/kernel_isa.h"
#include "runtime/cpu/vector_math.h"
#include "senti/host_info.h"

// The 512-bit kernels share one target (VNNI and BF16 enabled) so that the per-type dot products
// inline into one driver; only the int8 and bf16 dot products use those extensions, and they run
// only where gemm_isa() found them. Likewise the 256-bit ones with AVX-VNNI.
#ifndef SENTI_ISA_EMULATION
#define SENTI_GEMM_TARGET_512 \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512bf16,avx2,fma")))
#define SENTI_GEMM_TARGET_256 __attribute__((target("avx2,fma,avxvnni")))
#else  // tests/isa_emulation: the 512-bit and VNNI intrinsics are SIMDe's (simd_intrinsics.h)
#define SENTI_GEMM_TARGET_512 SENTI_KERNEL_TARGET_AVX2
#define SENTI_GEMM_TARGET_256 SENTI_KERNEL_TARGET_AVX2
#endif

namespace senti::cpu {
namespace {

// Output columns per panel: the 512-bit kernels' tiles span a whole 64-column panel (one 256-byte row
// of it per K group, four vectors); the 256-bit ones' tiles are 16 columns wide, and a panel of 16
// makes each tile's weights one contiguous stream. With 64-column panels the 256-bit tiles read 64
// bytes out of every 256 (four passes over each chunk): the lines of one tile fell into a quarter of
// L1's sets, so the row tiles of a chunk could not share them, and the hardware prefetchers saw four
// strided streams. Measured on the AVX2 host (Zen 3), rbt3 seed sentences at batch 1, 1 thread,
// paired medians of 14 / 10 alternating runs against the 64-column build: int8 1.05x, fp32 1.04x.
// bench/roofline.sh (each run's share of its own measured peak, 8-64 rows): fp32 3072x768 43-47% ->
// 61-69%, the other shapes within noise (results/roofline 2026-12-02_154051Z vs _184435Z).
constexpr std::size_t kPanel512 = 64;
constexpr std::size_t kPanel256 = 16;
constexpr std::size_t kBlock = 16;           // columns per 512-bit vector
constexpr std::size_t kRowChunkBytes = 128 << 10;  // activations of one row chunk stay in L2
// K is cut into blocks of this many 32-bit groups: a 16-column weight block of one K block (16 KB)
// stays in L1 while every row tile of the chunk uses it. A tile's accumulators are stored raw into y
// between K blocks and loaded back (fp32 and s32 alike, without rounding), and the epilogue runs
// after the last block only, so each output is the same chain over K in order whatever the blocking.
constexpr std::size_t kKBlockGroups = 256;

// One K block of a tile: groups [begin, end); first: start from zero (else from y); last: epilogue.
struct KRange {
  std::size_t begin = 0, end = 0;
  bool first = true, last = true;
};

int32_t load_group(const std::byte* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Software prefetch of the weights. At serving's row counts a call reads each weight once, from DRAM
// more often than not (a layer's panels are 0.6-9 MB, and between calls other work evicts them), and
// one tile's arithmetic is too short to hide a miss: with only the hardware prefetchers the first
// tile of each chunk stalled on DRAM while the rest of the chunk computed with the memory bus idle
// (rbt3 at batch 1 ran at a third of one core's DRAM bandwidth). While a chunk (a panel's K block)
// is computed, every tile of it prefetches an equal share of the next chunk the same thread reads
// (the next panel's same K block, or the first panel's next K block), at most one line per K step:
// the stream overlaps the whole chunk's arithmetic. Measured on the AVX2 host (rbt3, the seed
// sentences at batch 1, 1 thread, senti's kernels for every call, medians of 4 alternating runs):
// int8 12.6 -> 8.8 ms, fp32 30.8 -> 18.4 ms. A prefetch never faults and changes no result;
// SENTI_GEMM_PREFETCH=0 turns it off (A/B runs).
const bool g_prefetch_weights = [] {
  const char* v = std::getenv("SENTI_GEMM_PREFETCH");
  return v == nullptr || std::string_view(v) != "0";
}();

// A tile's share: at K step k it prefetches the line holding byte ((k - ks.begin) · step16) >> 16 from
// base, so its lines spread evenly over its K steps (at most 64 bytes a step: no line is skipped, and
// no shift to a line address). With nothing to prefetch, base is a line the tile reads anyway.
struct PrefetchSlice {
  const std::byte* base = nullptr;
  uint32_t step16 = 0;  // bytes per K step, 16 fractional bits
};

class ChunkPrefetch {
 public:
  // The current chunk has `steps` K steps and is read by `tiles` tiles; the next chunk the thread
  // reads is `bytes` bytes at `next` (0: nothing to prefetch).
  ChunkPrefetch(const std::byte* next, std::size_t bytes, std::size_t steps, std::size_t tiles)
      : next_(next), steps_(steps), lines_(g_prefetch_weights ? (bytes + 63) / 64 : 0) {
    per_tile_ = tiles == 0 ? 0 : std::min(steps_, (lines_ + tiles - 1) / tiles);
  }
  PrefetchSlice slice(std::size_t tile, const std::byte* fallback) const {
    const std::size_t first = tile * per_tile_;
    if (first >= lines_ || steps_ == 0) return {fallback, 0};
    const std::size_t count = std::min(per_tile_, lines_ - first);
    return {next_ + first * 64, static_cast<uint32_t>((count * 64 << 16) / steps_)};
  }

 private:
  const std::byte* next_;
  std::size_t steps_, lines_, per_tile_ = 0;
};

// One-row calls (the last layer's [CLS] path and the pooler at batch 1: 11% of rbt3's int8 forward)
// do 2 (int8) to 8 (fp32) bytes of weights per multiply-add: they wait on DRAM, not on arithmetic. A
// one-row tile reading one panel is one sequential stream, and one core's stream stalls on its own
// misses: a cold read loop on the AVX2 EPYC VM gave 21-22 GB/s over one 12-16 KB panel after another,
// 24-27 GB/s over two adjacent panels read side by side (two streams for the hardware prefetchers),
// 17-19 GB/s with software prefetch 1-16 KB ahead. So a one-row tile reads two full panels at once,
// without software prefetch (which, issued into the same queue, was slower: senti_kernel_bench --cold).
// Measured there, 1 thread, senti_kernel_bench --cold --rows 1, 3 alternating runs: int8 2304x768
// 118-141 -> 97-124 µs, 768x3072 143-189 -> 119-153; fp32 2304x768 388-499 -> 289-385; in rbt3 at
// batch 1 (SENTI_PROFILE, seed sentences, 4 / 3 alternating pairs) the one-row calls' time 0.159-0.181
// -> 0.149-0.164 s (int8), 0.618-0.682 -> 0.538-0.573 s (fp32). Every column is the same chain over K
// as in a one-panel tile: results unchanged bit for bit. SENTI_GEMM_PAIR=0 turns it off (A/B runs).
// The 512-bit kernels (64-column panels: 256 bytes per K group) do not pair: on the AVX-512 Zen 4 VM,
// senti_kernel_bench --cold --rows 1, 2 alternating runs, one-row tiles over two panels were not
// distinguishable from one panel (int8 3072x768 106-111 vs 111-126 µs, fp32 470-492 vs 434-451,
// bf16 768x3072 242-266 vs 236-294), one panel already reading at 19-21 GB/s of the 24 measured.
const bool g_pair_one_row_panels = [] {
  const char* v = std::getenv("SENTI_GEMM_PAIR");
  return v == nullptr || std::string_view(v) != "0";
}();

// To L1: prefetching to L2 only (T1) was no faster on the AVX2 host (within noise, kernel bench).
SENTI_ALWAYS_INLINE void prefetch_share(const PrefetchSlice& pf, std::size_t step) {
  _mm_prefetch(reinterpret_cast<const char*>(pf.base + ((step * pf.step16) >> 16)), _MM_HINT_T0);
}

// Applies the activation to y[0, cols) (a row segment the kernel just stored).
SENTI_ALWAYS_INLINE void activate_body(float* y, std::size_t cols, GemmActivation act) {
  if (act == GemmActivation::kGeluErf) {
#pragma omp simd
    for (std::size_t c = 0; c < cols; ++c) y[c] = gelu_erf(y[c]);
  } else if (act == GemmActivation::kTanh) {
#pragma omp simd
    for (std::size_t c = 0; c < cols; ++c) y[c] = fast_tanh(y[c]);
  }
}

// One tile of a SIMD driver: `rows` rows from `row` × the `cols` columns from `col` of the panel at w
// (K group stride group_bytes), over the K groups of ks. Its activations at `a` are packed
// (pack_activations): K step k's groups of the tile's rows side by side at a + (k - ks.begin)·rows·4.
struct TileCall {
  const std::byte* a;
  const std::byte* w;
  std::size_t group_bytes;
  KRange ks;
  std::size_t row, rows, col, cols;
  PrefetchSlice pf;
  // 2: a one-row tile over this panel and the next (full-width, panel_bytes further on) at once.
  int panels = 1;
  std::size_t panel_bytes = 0;
};

// One full tile of kTileRows (4 to 8) rows over `steps` K steps, 8 steps at a time by 8x8 transposes
// of 32-bit groups (rows past the tile read its last row again). Step j's 8 lanes are stored at its
// place, kTileRows groups apart: the lanes past the tile's rows land on step j + 1's place, which its
// own store (or the scalar tail's) then overwrites; after the last step they land past the tile, on the
// next tile's place (packed after this one) or on activation_buffer's slack (kPackSlackBytes). The
// scalar copy, one 4-byte load and store per group, was 2.6% (1 thread) and 4.5% (2 threads: each
// thread packs every row for its own columns) of the int8 driver's samples in rbt3 throughput runs on
// the AVX-512 Zen 4 VM (perf), next to its 6x64 tiles at the vpdpbusd peak; these transposes 1.1% and 2.2%
// (the source rows' loads, from L2 or L3, carry their samples).
constexpr std::size_t kPackSlackBytes = 64;

template <std::size_t kTileRows>
SENTI_KERNEL_TARGET_AVX2 void pack_tile_transposed(const std::byte* src, std::size_t lda_bytes,
                                                  std::size_t steps, std::byte* out) {
  static_assert(kTileRows >= 4 && kTileRows <= 8);
  const std::byte* row[8];
#pragma GCC unroll 8
  for (std::size_t r = 0; r < 8; ++r) row[r] = src + std::min(r, kTileRows - 1) * lda_bytes;
  std::size_t k = 0;
  for (; k + 8 <= steps; k += 8) {
    __m256i v[8];
#pragma GCC unroll 8
    for (std::size_t r = 0; r < 8; ++r) v[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row[r] + k * 4));
    const __m256i t0 = _mm256_unpacklo_epi32(v[0], v[1]), t1 = _mm256_unpackhi_epi32(v[0], v[1]);
    const __m256i t2 = _mm256_unpacklo_epi32(v[2], v[3]), t3 = _mm256_unpackhi_epi32(v[2], v[3]);
    const __m256i t4 = _mm256_unpacklo_epi32(v[4], v[5]), t5 = _mm256_unpackhi_epi32(v[4], v[5]);
    const __m256i t6 = _mm256_unpacklo_epi32(v[6], v[7]), t7 = _mm256_unpackhi_epi32(v[6], v[7]);
    // u_s: step s (low half: rows 0-3) and step s + 4 (high half) of rows 0-3; w_s: of rows 4-7.
    const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    const __m256i w0 = _mm256_unpacklo_epi64(t4, t6), w1 = _mm256_unpackhi_epi64(t4, t6);
    const __m256i w2 = _mm256_unpacklo_epi64(t5, t7), w3 = _mm256_unpackhi_epi64(t5, t7);
    const __m256i steps8[8] = {_mm256_permute2x128_si256(u0, w0, 0x20), _mm256_permute2x128_si256(u1, w1, 0x20),
                               _mm256_permute2x128_si256(u2, w2, 0x20), _mm256_permute2x128_si256(u3, w3, 0x20),
                               _mm256_permute2x128_si256(u0, w0, 0x31), _mm256_permute2x128_si256(u1, w1, 0x31),
                               _mm256_permute2x128_si256(u2, w2, 0x31), _mm256_permute2x128_si256(u3, w3, 0x31)};
#pragma GCC unroll 8
    for (std::size_t j = 0; j < 8; ++j)  // in order: each store's extra lanes are the next one's to overwrite
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + (k + j) * kTileRows * 4), steps8[j]);
  }
  for (; k < steps; ++k)
#pragma GCC unroll 8
    for (std::size_t r = 0; r < kTileRows; ++r) std::memcpy(out + (k * kTileRows + r) * 4, row[r] + k * 4, 4);
}

// The activations of `rows` rows (row stride lda_bytes) over the K groups of ks, tile by tile (tiles
// of kTileRows rows, the last one shorter): within a tile, for each K step, its rows' 32-bit groups
// side by side. A tile's kernel then broadcasts from one sequential stream instead of one per row:
// rows a multiple of 4 KiB apart (K = 3072 in fp32) fell into one L1 set with the weights' lines.
// With the K blocks outside the panels, each row chunk's block is packed once for all panels. Measured
// on the AVX2 host (senti_kernel_bench, 1 thread, alternating with the previous build): fp32 1.15-1.17x
// at 18, 256 and 2048 rows (the 6x16 tile's loop then at the FMA peak, perf: 87% of the samples in it,
// 5% packing), int8 1.0-1.08x; rbt3 at batch 1 (seed sentences, 5 alternating pairs): fp32 10.25 ->
// 9.43 ms, int8 4.25 -> 4.17 ms.
template <std::size_t kTileRows>
SENTI_ALWAYS_INLINE void pack_activations(const std::byte* a, std::size_t lda_bytes, std::size_t rows, KRange ks,
                                          std::byte* out) {
  const std::size_t steps = ks.end - ks.begin;
  std::size_t t = 0;
  for (; t + kTileRows <= rows; t += kTileRows, out += kTileRows * steps * 4)  // full tiles, in order
    pack_tile_transposed<kTileRows>(a + t * lda_bytes + ks.begin * 4, lda_bytes, steps, out);
  const std::size_t mr = rows - t;  // the last, shorter tile
  for (std::size_t r = 0; r < mr; ++r) {
    const std::byte* src = a + (t + r) * lda_bytes + ks.begin * 4;
    for (std::size_t k = 0; k < steps; ++k) std::memcpy(out + (k * mr + r) * 4, src + k * 4, 4);
  }
}

// The packed activations of the calling thread's current row chunk and K block: at most
// kRowChunkBytes, or one tile's worth where a tile is larger (grows once, kept for later calls).
std::byte* activation_buffer(std::size_t bytes) {
  thread_local std::vector<std::byte> buffer;
  bytes += kPackSlackBytes;  // pack_tile_transposed's last stores
  if (buffer.size() < bytes) buffer.resize(bytes);
  return buffer.data();
}

// Whether every row's packed activations over all of K fit one packing (kRowChunkBytes): then a driver
// packs them once for any number of column ranges (drive_tiles), and gemm_run lets threads claim ranges.
bool packs_once(const GemmArgs& g) {
  return g.rows * (gemm_padded_k(g.type, g.k) / gemm_group_elements(g.type)) * 4 <= kRowChunkBytes;
}

// First panel of share t of `parts` equal shares of `panels` panels from first_panel.
std::size_t share_begin(std::size_t first_panel, std::size_t panels, int t, int parts) {
  return first_panel + panels * static_cast<std::size_t>(t) / static_cast<std::size_t>(parts);
}

// The output columns a driver computes, one range [begin, end) at a time: one fixed range (OneRange), or
// the ranges a thread claims from a parallel call's PanelClaims. Ranges start on a panel boundary and
// end on one or at n. limit: no column at or past it is this thread's (no weight past it is prefetched).
class ColumnSource {
 public:
  explicit ColumnSource(std::size_t limit) : limit_(limit) {}
  virtual bool next(std::size_t& begin, std::size_t& end) = 0;
  std::size_t limit() const { return limit_; }

 protected:
  ~ColumnSource() = default;

 private:
  std::size_t limit_;
};

class OneRange final : public ColumnSource {
 public:
  OneRange(std::size_t begin, std::size_t end) : ColumnSource(end), begin_(begin), end_(end) {}
  bool next(std::size_t& begin, std::size_t& end) override {
    if (done_ || begin_ >= end_) return false;
    begin = begin_, end = end_, done_ = true;
    return true;
  }

 private:
  std::size_t begin_, end_;
  bool done_ = false;
};

// The loop nest both SIMD drivers share, over the output columns `columns` hands out: panels of
// kPanelCols columns (each chunk of weights, a panel's K block, prefetching the next one the thread
// reads); row tiles of up to kTileRows; after a panel's last K block, its activation. Where the
// packed activations of every row over all of K fit in kRowChunkBytes (batch-1 traffic: 18 rows of
// K = 3072 in int8 are 55 KB), they are packed once and serve every range; otherwise row chunks whose
// packed activations of one K block stay in L2, repacked per range. Tiles::run(g, tile) computes one
// tile with the ISA's kernel. Always inlined into the ISA's driver, so that the activation is compiled
// for that ISA's target as the kernel's own epilogue is (batch == single bit for bit needs the same
// GELU code on every path: compiled without FMA it differed). Which range a column falls in, and which
// thread computes it, changes nothing in its result: every output is the same chain over K.
template <std::size_t kPanelCols, std::size_t kTileRows, class Tiles>
SENTI_ALWAYS_INLINE void drive_tiles(const GemmArgs& g, ColumnSource& columns) {
  const bool pairs_one_row = Tiles::kPairsOneRow && g_pair_one_row_panels;
  const std::size_t kp = gemm_padded_k(g.type, g.k), groups = kp / gemm_group_elements(g.type);
  const std::size_t np = gemm_padded_n(g.n);
  const std::size_t elem = 4 / gemm_group_elements(g.type), lda_bytes = g.lda * elem;
  const auto* a = static_cast<const std::byte*>(g.a);
  const auto* packed = static_cast<const std::byte*>(g.packed);
  const auto k_range = [&](std::size_t k0) {
    return KRange{k0, std::min(groups, k0 + kKBlockGroups), k0 == 0, k0 + kKBlockGroups >= groups};
  };
  // Panel p0's weights (width columns, K group stride width·4) start at packed + p0·groups·4.
  const auto panel_width = [&](std::size_t p0) { return std::min(kPanelCols, np - p0); };
  // One K block of the panels of columns [c0, c1), rows [r0, r1) packed at packed_a. Always inlined: a
  // lambda's body does not take the driver's target attribute, and compiled for the baseline ISA it could
  // not inline the kernel and ran the GELU without FMA.
  const auto run_panels = [&](std::size_t r0, std::size_t r1, KRange ks, const std::byte* packed_a, std::size_t c0,
                              std::size_t c1) __attribute__((always_inline)) {
    const std::size_t steps = ks.end - ks.begin, tiles = (r1 - r0 + kTileRows - 1) / kTileRows;
    for (std::size_t p0 = c0; p0 < c1;) {
      const std::size_t width = panel_width(p0), group_bytes = width * 4;
      // One row: this panel and the next read at once where both are full and in the range.
      const bool pair = pairs_one_row && r1 - r0 == 1 && width == kPanelCols && p0 + 2 * kPanelCols <= c1;
      const std::size_t span = pair ? 2 * kPanelCols : kPanelCols;
      const std::size_t cols = std::min(c1, p0 + (pair ? span : width)) - p0;
      const std::byte* w = packed + p0 * groups * 4;
      // The next chunk: the next panel's same K block, else the range's first panel's next K block,
      // else the first K block of the panel after the range (the next range a thread claims most often
      // starts there).
      std::size_t next_col = 0, next_k = ks.begin;
      if (p0 + span < c1) {
        next_col = p0 + span;
      } else if (ks.end < groups) {
        next_col = c0, next_k = ks.end;
      } else if (c1 < columns.limit()) {
        next_col = c1, next_k = 0;
      } else {
        next_col = np;  // nothing
      }
      const std::byte* next = nullptr;
      std::size_t next_bytes = 0;
      if (next_col < np) {
        const std::size_t w1 = panel_width(next_col);
        next = packed + next_col * groups * 4 + next_k * w1 * 4;
        next_bytes = (k_range(next_k).end - next_k) * w1 * 4;
      }
      const ChunkPrefetch prefetch(next, pair ? 0 : next_bytes, steps, tiles);  // pairs: no prefetch
      for (std::size_t r = r0, tile = 0; r < r1; r += kTileRows, ++tile) {
        const PrefetchSlice pf = prefetch.slice(tile, w + ks.begin * group_bytes);
        Tiles::run(g, TileCall{packed_a + tile * kTileRows * steps * 4, w, group_bytes, ks, r,
                               std::min(kTileRows, r1 - r), p0, cols, pf, pair ? 2 : 1, kPanelCols * groups * 4});
      }
      if (ks.last && g.activation != GemmActivation::kNone)
        for (std::size_t r = r0; r < r1; ++r) activate_body(g.y + r * g.ldy + p0, cols, g.activation);
      p0 += span;
    }
  };
  // Packed once: K block k0's tiles at packed_a + rows·k0·4. Else per range, row chunk and K block.
  const bool pack_once = packs_once(g);
  const std::size_t block = std::min(groups, kKBlockGroups);
  const std::size_t chunk =
      pack_once ? g.rows
                : std::max<std::size_t>(kTileRows, kRowChunkBytes / (block * 4) / kTileRows * kTileRows);
  std::byte* const packed_a = activation_buffer(pack_once ? g.rows * groups * 4 : std::min(chunk, g.rows) * block * 4);
  if (pack_once)
    for (std::size_t k0 = 0; k0 < groups; k0 += kKBlockGroups)
      pack_activations<kTileRows>(a, lda_bytes, g.rows, k_range(k0), packed_a + g.rows * k0 * 4);
  std::size_t c0 = 0, c1 = 0;
  while (columns.next(c0, c1)) {
    for (std::size_t r0 = 0; r0 < g.rows; r0 += chunk) {
      const std::size_t r1 = std::min(g.rows, r0 + chunk);
      for (std::size_t k0 = 0; k0 < groups; k0 += kKBlockGroups) {
        if (!pack_once) pack_activations<kTileRows>(a + r0 * lda_bytes, lda_bytes, r1 - r0, k_range(k0), packed_a);
        run_panels(r0, r1, k_range(k0), pack_once ? packed_a + g.rows * k0 * 4 : packed_a, c0, c1);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 512-bit kernels: tiles of MR rows × NB·16 columns, accumulators in registers (MR·NB ≤ 24).

struct Int8Vnni512 {
  using Acc = __m512i;
  SENTI_GEMM_TARGET_512 static SENTI_ALWAYS_INLINE Acc zero() { return _mm512_setzero_si512(); }
  SENTI_GEMM_TARGET_512 static SENTI_ALWAYS_INLINE Acc dot(Acc acc, __m512i a, __m512i w) {
    return _mm512_dpbusd_epi32(acc, a, w);
  }
  // (scale · acc + compensation) · row_scale + bias
  SENTI_GEMM_TARGET_512 static SENTI_ALWAYS_INLINE __m512 finish(Acc acc, const GemmArgs& g, std::size_t row,
                                                                 std::size_t col, __mmask16 m) {
    const __m512 scaled = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_maskz_loadu_ps(m, g.weight_scales + col),
                                          _mm512_maskz_loadu_ps(m, g.compensation + col));
    return _mm512_fmadd_ps(scaled, _mm512_set1_ps(g.row_scales[row]), _mm512_maskz_loadu_ps(m, g.bias + col));
  }
};

struct Bf16Dot512 {
  using Acc = __m512;
  SENTI_GEMM_TARGET_512 static SENTI_ALWAYS_INLINE Acc zero() { return _mm512_setzero_ps(); }
  SENTI_GEMM_TARGET_512 static SENTI_ALWAYS_INLINE Acc dot(Acc acc, __m512i a, __m512i w) {
    return _mm512_dpbf16_ps(acc, reinterpret_cast<__m512bh>(a), reinterpret_cast<__m512bh>(w));
  }
  SENTI_GEMM_TARGET_512 static SENTI_ALWAYS_INLINE __m512 finish(Acc acc, const GemmArgs& g, std::size_t,
                                                                 std::size_t col, __mmask16 m) {
    return _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, g.bias + col));
  }
};

struct Fp32Fma512 {
  using Acc = __m512;
  SENTI_GEMM_TARGET_512 static SENTI_ALWAYS_INLINE Acc zero() { return _mm512_setzero_ps(); }
  SENTI_GEMM_TARGET_512 static SENTI_ALWAYS_INLINE Acc dot(Acc acc, __m512i a, __m512i w) {
    return _mm512_fmadd_ps(_mm512_castsi512_ps(a), _mm512_castsi512_ps(w), acc);
  }
  SENTI_GEMM_TARGET_512 static SENTI_ALWAYS_INLINE __m512 finish(Acc acc, const GemmArgs& g, std::size_t,
                                                                 std::size_t col, __mmask16 m) {
    return _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, g.bias + col));
  }
};

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm512_undefined_*().
#pragma GCC diagnostic push
#if !defined(__clang__)  // a GCC-only warning
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

// The raw accumulators (fp32 or s32 bits) of a tile between K blocks, kept in y's first n columns.
SENTI_GEMM_TARGET_512 SENTI_ALWAYS_INLINE void load_raw512(const float* y, __mmask16 m, __m512& v) {
  v = _mm512_maskz_loadu_ps(m, y);
}
SENTI_GEMM_TARGET_512 SENTI_ALWAYS_INLINE void load_raw512(const float* y, __mmask16 m, __m512i& v) {
  v = _mm512_maskz_loadu_epi32(m, y);
}
SENTI_GEMM_TARGET_512 SENTI_ALWAYS_INLINE void store_raw512(float* y, __mmask16 m, __m512 v) {
  _mm512_mask_storeu_ps(y, m, v);
}
SENTI_GEMM_TARGET_512 SENTI_ALWAYS_INLINE void store_raw512(float* y, __mmask16 m, __m512i v) {
  _mm512_mask_storeu_epi32(y, m, v);
}

// One tile: rows [row, row+MR) × columns [col, col + NB·16) of a panel `w` (group stride
// `group_bytes`), over the K groups of `ks`; then the epilogue stores it into y (or, before the last
// K block, the raw accumulators).
template <class Tr, int MR, int NB>
SENTI_GEMM_TARGET_512 void tile512(const GemmArgs& g, const std::byte* a, const std::byte* w,
                                   std::size_t group_bytes, KRange ks, std::size_t row, std::size_t col,
                                   PrefetchSlice pf) {
  typename Tr::Acc acc[MR][NB];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    float* y = g.y + (row + static_cast<std::size_t>(r)) * g.ldy;
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b) {
      const std::size_t c = col + static_cast<std::size_t>(b) * kBlock;
      if (ks.first || c >= g.n) {
        acc[r][b] = Tr::zero();
      } else {
        const std::size_t valid = std::min(kBlock, g.n - c);
        const auto m = static_cast<__mmask16>(valid == kBlock ? 0xffffu : (1u << valid) - 1u);
        load_raw512(y + c, m, acc[r][b]);
      }
    }
  }
  for (std::size_t k = ks.begin; k < ks.end; ++k) {
    __m512i wv[NB];
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b) wv[b] = _mm512_loadu_si512(w + k * group_bytes + static_cast<std::size_t>(b) * 64);
    prefetch_share(pf, k - ks.begin);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512i av = _mm512_set1_epi32(load_group(a + ((k - ks.begin) * MR + static_cast<std::size_t>(r)) * 4));
#pragma GCC unroll 4
      for (int b = 0; b < NB; ++b) acc[r][b] = Tr::dot(acc[r][b], av, wv[b]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    float* y = g.y + (row + static_cast<std::size_t>(r)) * g.ldy;
#pragma GCC unroll 4
    for (int b = 0; b < NB; ++b) {
      const std::size_t c = col + static_cast<std::size_t>(b) * kBlock;
      if (c >= g.n) break;
      const std::size_t valid = std::min(kBlock, g.n - c);
      const auto m = static_cast<__mmask16>(valid == kBlock ? 0xffffu : (1u << valid) - 1u);
      if (ks.last) {
        _mm512_mask_storeu_ps(y + c, m, Tr::finish(acc[r][b], g, row + static_cast<std::size_t>(r), c, m));
      } else {
        store_raw512(y + c, m, acc[r][b]);
      }
    }
  }
}

template <class Tr, int MR>
SENTI_GEMM_TARGET_512 void tile512_nb(std::size_t nb, const GemmArgs& g, const std::byte* a, const std::byte* w,
                                      std::size_t group_bytes, KRange ks, std::size_t row, std::size_t col,
                                      PrefetchSlice pf) {
  switch (nb) {
    case 4: return tile512<Tr, MR, 4>(g, a, w, group_bytes, ks, row, col, pf);
    case 3: return tile512<Tr, MR, 3>(g, a, w, group_bytes, ks, row, col, pf);
    case 2: return tile512<Tr, MR, 2>(g, a, w, group_bytes, ks, row, col, pf);
    default: return tile512<Tr, MR, 1>(g, a, w, group_bytes, ks, row, col, pf);
  }
}

#pragma GCC diagnostic pop

constexpr std::size_t kRows512 = 6;

// A 512-bit tile: MR rows × the panel's columns in vectors of 16.
template <class Tr>
struct Tiles512 {
  static constexpr bool kPairsOneRow = false;  // one panel per tile (g_pair_one_row_panels)
  SENTI_GEMM_TARGET_512 static void run(const GemmArgs& g, const TileCall& t) {
    const std::size_t nb = (t.cols + kBlock - 1) / kBlock;
    switch (t.rows) {
      case 6: return tile512_nb<Tr, 6>(nb, g, t.a, t.w, t.group_bytes, t.ks, t.row, t.col, t.pf);
      case 5: return tile512_nb<Tr, 5>(nb, g, t.a, t.w, t.group_bytes, t.ks, t.row, t.col, t.pf);
      case 4: return tile512_nb<Tr, 4>(nb, g, t.a, t.w, t.group_bytes, t.ks, t.row, t.col, t.pf);
      case 3: return tile512_nb<Tr, 3>(nb, g, t.a, t.w, t.group_bytes, t.ks, t.row, t.col, t.pf);
      case 2: return tile512_nb<Tr, 2>(nb, g, t.a, t.w, t.group_bytes, t.ks, t.row, t.col, t.pf);
      default: return tile512_nb<Tr, 1>(nb, g, t.a, t.w, t.group_bytes, t.ks, t.row, t.col, t.pf);
    }
  }
};

template <class Tr>
SENTI_GEMM_TARGET_512 void driver512(const GemmArgs& g, ColumnSource& columns) {
  drive_tiles<kPanel512, kRows512, Tiles512<Tr>>(g, columns);
}

// ---------------------------------------------------------------------------------------------
// 256-bit kernels: tiles of up to Tr::kRows rows × 16 columns (two 8-column vectors). A row's result
// never depends on the tile it falls in: every output is one chain over K in order, then the same
// epilogue, in full tiles and tails alike (batch == single, bit for bit).

struct Int8Vnni256 {
  using Acc = __m256i;
  using Lane = int32_t;
  static constexpr int kRows = 4;  // 8 accumulators; the AVX2 dot needs temporaries
  SENTI_GEMM_TARGET_256 static SENTI_ALWAYS_INLINE Acc zero() { return _mm256_setzero_si256(); }
  SENTI_GEMM_TARGET_256 static SENTI_ALWAYS_INLINE Acc dot(Acc acc, __m256i a, __m256i w) {
    return _mm256_dpbusd_avx_epi32(acc, a, w);
  }
  SENTI_GEMM_TARGET_256 static SENTI_ALWAYS_INLINE __m256 finish(Acc acc, const GemmArgs& g, std::size_t row,
                                                                 std::size_t col) {
    const __m256 scaled = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc), _mm256_loadu_ps(g.weight_scales + col),
                                          _mm256_loadu_ps(g.compensation + col));
    return _mm256_fmadd_ps(scaled, _mm256_set1_ps(g.row_scales[row]), _mm256_loadu_ps(g.bias + col));
  }
  static float finish_one(int32_t acc, const GemmArgs& g, std::size_t row, std::size_t col) {
    return std::fma(std::fma(static_cast<float>(acc), g.weight_scales[col], g.compensation[col]), g.row_scales[row],
                    g.bias[col]);
  }
};

// Without VNNI: u8·s8 pairs summed in 16 bits (vpmaddubsw, saturating: weights keep 7 bits), then
// widened to 32 by vpmaddwd against ones. dot_steps takes S K steps: their 16-bit pair sums are added
// before one widening, exact while 2 · S · u8max · 63 < 2^15: S = 2 for activations of ±63 levels (u8
// at most 127: 32004), S = 3 for ±42 (u8 at most 85: 32130; GemmArgs::activation_limit picks).
// vpmaddubsw and vpmaddwd share the two vector multiply pipes on Zen 3: S = 2 issues 3 multiply
// instructions per 2 steps, S = 3 4 per 3, instead of 2 per step. Measured on the AVX2 host,
// register-only loops of 8 chains: 131 (one widening per step), 244 (S = 2), 261 (S = 3), 275 GOP/s
// (S = 4, which would need u8 ≤ 65); senti_kernel_bench at 20 rows, S = 2 -> 3: 320 -> 306 µs for
// 2304×768, 437 -> 410 µs for 3072×768. The s32 sums are exact either way; what the range changes is
// the activations' resolution (gemm_fast_activation_limit says which inputs take ±42).
// vpmaddubsw with its weights as the instruction's memory operand. A tile of MR rows uses each weight
// vector MR times; held in registers (what GCC makes of _mm256_loadu_si256 reused across the rows),
// the S steps' 2·S weight vectors, the 2·MR accumulators, S broadcasts and the 16-bit sums needed ~20
// of the 16 registers, and GCC kept five of the eight accumulators of the 4-row, 3-step loop on the
// stack (a load and a store per row and step each). As a memory operand a weight vector takes no
// register and no instruction of its own: an L1 load, and loads are not what this loop waits for
// (the two multiply pipes are). Measured on the AVX2 host, 1 thread, alternating runs: senti_kernel_bench
// at 18 rows, best of 5, 2304x768 280 -> 266 µs, 3072x768 373 -> 354, 768x3072 379 -> 360; rbt3 int8
// at batch 1 (seed sentences) 3.40-3.82 -> 3.32-3.53 ms over 5 pairs.
SENTI_GEMM_TARGET_256 SENTI_ALWAYS_INLINE __m256i maddubs_from(__m256i a, const std::byte* w) {
  __m256i out;
  __asm__("vpmaddubsw %2, %1, %0" : "=x"(out) : "x"(a), "m"(*reinterpret_cast<const __m256i*>(w)));
  return out;
}

template <int S>
struct Int8Avx2 : Int8Vnni256 {
  static_assert(S == 2 || S == 3);
  static constexpr int kStepsPerWiden = S;
  static constexpr int kActivationLimit = S == 2 ? 63 : 42;  // u8 ≤ 2 · limit + 1
  static_assert(2 * S * (2 * kActivationLimit + 1) * 63 < 32768);
  // S K steps of one 8-column vector: a[s] the broadcast activations of step s, its weights at
  // w + s · stride, read by the multiply itself (maddubs_from).
  SENTI_GEMM_TARGET_256 static SENTI_ALWAYS_INLINE Acc dot_steps(Acc acc, const __m256i* a, const std::byte* w,
                                                                 std::size_t stride) {
    __m256i sum = maddubs_from(a[0], w);
#pragma GCC unroll 4
    for (int s = 1; s < kStepsPerWiden; ++s) sum = _mm256_add_epi16(sum, maddubs_from(a[s], w + s * stride));
    __m256i pairs = _mm256_madd_epi16(sum, _mm256_set1_epi16(1));
    __asm__("" : "+x"(pairs));  // as in dot: no vpdpwssd
    return _mm256_add_epi32(acc, pairs);
  }
  SENTI_GEMM_TARGET_256 static SENTI_ALWAYS_INLINE Acc dot(Acc acc, __m256i a, __m256i w) {
    __m256i pairs = _mm256_madd_epi16(_mm256_maddubs_epi16(a, w), _mm256_set1_epi16(1));
    // The 256-bit target includes avxvnni (for Int8Vnni256), and clang then fuses madd + add into
    // vpdpwssd, an AVX-VNNI instruction: SIGILL on AVX2-only hosts (found by the fuzzers). This empty asm
    // keeps the two instructions apart.
    __asm__("" : "+x"(pairs));
    return _mm256_add_epi32(acc, pairs);
  }
};

struct Fp32Fma256 {
  using Acc = __m256;
  using Lane = float;
  static constexpr int kRows = 6;  // 12 accumulators + 2 weight vectors + 1 broadcast of 16 registers
  SENTI_GEMM_TARGET_256 static SENTI_ALWAYS_INLINE Acc zero() { return _mm256_setzero_ps(); }
  SENTI_GEMM_TARGET_256 static SENTI_ALWAYS_INLINE Acc dot(Acc acc, __m256i a, __m256i w) {
    return _mm256_fmadd_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(w), acc);
  }
  SENTI_GEMM_TARGET_256 static SENTI_ALWAYS_INLINE __m256 finish(Acc acc, const GemmArgs& g, std::size_t,
                                                                 std::size_t col) {
    return _mm256_add_ps(acc, _mm256_loadu_ps(g.bias + col));
  }
  static float finish_one(float acc, const GemmArgs& g, std::size_t, std::size_t col) { return acc + g.bias[col]; }
};

// The raw accumulator bits of `lanes` columns (fp32 or s32) between K blocks, lanes past them zero.
template <class Tr>
SENTI_GEMM_TARGET_256 SENTI_ALWAYS_INLINE typename Tr::Acc load_raw256(const float* y, std::size_t lanes) {
  if (lanes == 8) {
    if constexpr (std::is_same_v<typename Tr::Lane, float>) {
      return _mm256_loadu_ps(y);
    } else {
      return _mm256_castps_si256(_mm256_loadu_ps(y));
    }
  }
  alignas(32) float tmp[8] = {};
  std::memcpy(tmp, y, lanes * 4);
  if constexpr (std::is_same_v<typename Tr::Lane, float>) {
    return _mm256_load_ps(tmp);
  } else {
    return _mm256_castps_si256(_mm256_load_ps(tmp));
  }
}
SENTI_GEMM_TARGET_256 SENTI_ALWAYS_INLINE void store_raw256(float* y, std::size_t lanes, __m256 v) {
  if (lanes == 8) return _mm256_storeu_ps(y, v);
  alignas(32) float tmp[8];
  _mm256_store_ps(tmp, v);
  std::memcpy(y, tmp, lanes * 4);
}
SENTI_GEMM_TARGET_256 SENTI_ALWAYS_INLINE void store_raw256(float* y, std::size_t lanes, __m256i v) {
  store_raw256(y, lanes, _mm256_castsi256_ps(v));
}

// Rows [row, row + MR) × the 16·NP columns from col: NP adjacent full panels (the next one panel_bytes
// further on; NP = 2 for one-row tiles, g_pair_one_row_panels), over the K groups of ks.
template <class Tr, int MR, int NP = 1>
SENTI_GEMM_TARGET_256 void tile256(const GemmArgs& g, const std::byte* a, const std::byte* w,
                                   std::size_t group_bytes, KRange ks, std::size_t row, std::size_t col,
                                   PrefetchSlice pf, std::size_t panel_bytes = 0) {
  constexpr std::size_t H = 2 * NP;  // 8-column vectors: two per panel
  // Vector h's weights: panel h / 2, half h % 2.
  const auto w_of = [&](std::size_t h) __attribute__((always_inline)) { return w + (h / 2) * panel_bytes + (h % 2) * 32; };
  typename Tr::Acc acc[MR][H];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    const float* y = g.y + (row + static_cast<std::size_t>(r)) * g.ldy;
#pragma GCC unroll 4  // constant indices: acc stays in registers (GCC spilled all 12 on every K step)
    for (std::size_t half = 0; half < H; ++half) {
      const std::size_t c = col + half * 8;
      acc[r][half] = Tr::zero();
      // Raw accumulators of the previous K block (the lanes past n stay zero: never stored). Through a
      // local copy: taking acc's address would keep the accumulators in memory (GCC then stored all 12
      // to the stack on every K step).
      if (!ks.first && c < g.n) acc[r][half] = load_raw256<Tr>(y + c, std::min<std::size_t>(8, g.n - c));
    }
  }
  std::size_t k = ks.begin;
  if constexpr (requires { Tr::kStepsPerWiden; }) {
    constexpr std::size_t S = Tr::kStepsPerWiden;
    for (; k + S <= ks.end; k += S) {
#pragma GCC unroll 4
      for (std::size_t s = 0; s < S; ++s) prefetch_share(pf, k + s - ks.begin);
      const std::byte* ak = a + (k - ks.begin) * MR * 4;
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        __m256i av[S];
#pragma GCC unroll 4
        for (std::size_t s = 0; s < S; ++s) av[s] = _mm256_set1_epi32(load_group(ak + (s * MR + static_cast<std::size_t>(r)) * 4));
#pragma GCC unroll 4
        for (std::size_t h = 0; h < H; ++h) acc[r][h] = Tr::dot_steps(acc[r][h], av, w_of(h) + k * group_bytes, group_bytes);
      }
    }
  }
  for (; k < ks.end; ++k) {
    __m256i wv[H];
#pragma GCC unroll 4
    for (std::size_t h = 0; h < H; ++h) wv[h] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w_of(h) + k * group_bytes));
    prefetch_share(pf, k - ks.begin);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m256i av = _mm256_set1_epi32(load_group(a + ((k - ks.begin) * MR + static_cast<std::size_t>(r)) * 4));
#pragma GCC unroll 4
      for (std::size_t h = 0; h < H; ++h) acc[r][h] = Tr::dot(acc[r][h], av, wv[h]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    float* y = g.y + (row + static_cast<std::size_t>(r)) * g.ldy;
#pragma GCC unroll 4  // constant indices: acc stays in registers (GCC spilled all 12 on every K step)
    for (std::size_t half = 0; half < H; ++half) {
      const std::size_t c = col + half * 8;
      if (c >= g.n) break;
      if (!ks.last) {
        store_raw256(y + c, std::min<std::size_t>(8, g.n - c), acc[r][half]);
      } else if (c + 8 <= g.n) {
        _mm256_storeu_ps(y + c, Tr::finish(acc[r][half], g, row + static_cast<std::size_t>(r), c));
      } else {
        alignas(32) typename Tr::Lane lanes[8];
        store_raw256(reinterpret_cast<float*>(lanes), 8, acc[r][half]);
        for (std::size_t j = 0; c + j < g.n; ++j)
          y[c + j] = Tr::finish_one(lanes[j], g, row + static_cast<std::size_t>(r), c + j);
      }
    }
  }
}

// A 256-bit tile: MR rows × 16 columns (one row: 32, two panels). One panel is one tile column: 16
// columns, each K group's 64 bytes after the previous group's.
static_assert(kPanel256 == kBlock);
template <class Tr>
struct Tiles256 {
  static constexpr bool kPairsOneRow = true;  // one-row tiles over two panels (g_pair_one_row_panels)
  SENTI_GEMM_TARGET_256 static void run(const GemmArgs& g, const TileCall& t) {
    if (t.panels == 2) return tile256<Tr, 1, 2>(g, t.a, t.w, t.group_bytes, t.ks, t.row, t.col, t.pf, t.panel_bytes);
    switch (t.rows) {
      case 6:
        if constexpr (Tr::kRows >= 6) tile256<Tr, 6>(g, t.a, t.w, t.group_bytes, t.ks, t.row, t.col, t.pf);
        return;
      case 5:
        if constexpr (Tr::kRows >= 5) tile256<Tr, 5>(g, t.a, t.w, t.group_bytes, t.ks, t.row, t.col, t.pf);
        return;
      case 4: return tile256<Tr, 4>(g, t.a, t.w, t.group_bytes, t.ks, t.row, t.col, t.pf);
      case 3: return tile256<Tr, 3>(g, t.a, t.w, t.group_bytes, t.ks, t.row, t.col, t.pf);
      case 2: return tile256<Tr, 2>(g, t.a, t.w, t.group_bytes, t.ks, t.row, t.col, t.pf);
      default: return tile256<Tr, 1>(g, t.a, t.w, t.group_bytes, t.ks, t.row, t.col, t.pf);
    }
  }
};

template <class Tr>
SENTI_GEMM_TARGET_256 void driver256(const GemmArgs& g, ColumnSource& columns) {
  drive_tiles<kPanel256, static_cast<std::size_t>(Tr::kRows), Tiles256<Tr>>(g, columns);
}

// ---------------------------------------------------------------------------------------------
// Scalar reference over the same packed layout (the tests also check it against plain loops on
// the unpacked weights).

float bf16_to_float(uint16_t v) {
  const uint32_t bits = static_cast<uint32_t>(v) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

void driver_scalar_range(const GemmArgs& g, std::size_t n_begin, std::size_t n_end) {
  const std::size_t e = gemm_group_elements(g.type), kp = gemm_padded_k(g.type, g.k), groups = kp / e;
  const std::size_t np = gemm_padded_n(g.n), panel = gemm_panel_columns(g.type, GemmIsa::kScalar);
  const auto* packed = static_cast<const std::byte*>(g.packed);
  for (std::size_t col = n_begin; col < n_end; ++col) {
    const std::size_t p0 = col / panel * panel, width = std::min(panel, np - p0);
    const std::byte* w = packed + (p0 * groups + (col - p0)) * 4;  // group k at w + k·width·4
    for (std::size_t r = 0; r < g.rows; ++r) {
      float out = 0.f;
      if (g.type == GemmType::kInt8) {
        const auto* a = static_cast<const uint8_t*>(g.a) + r * g.lda;
        int32_t acc = 0;
        for (std::size_t k = 0; k < groups; ++k) {
          const auto* wk = reinterpret_cast<const int8_t*>(w + k * width * 4);
          for (std::size_t j = 0; j < 4; ++j) acc += static_cast<int32_t>(a[k * 4 + j]) * wk[j];
        }
        out = std::fma(std::fma(static_cast<float>(acc), g.weight_scales[col], g.compensation[col]), g.row_scales[r],
                       g.bias[col]);
      } else if (g.type == GemmType::kBf16) {
        const auto* a = static_cast<const uint16_t*>(g.a) + r * g.lda;
        float acc = 0.f;
        for (std::size_t k = 0; k < groups; ++k) {
          uint16_t wk[2];
          std::memcpy(wk, w + k * width * 4, sizeof wk);
          acc += bf16_to_float(a[2 * k]) * bf16_to_float(wk[0]) + bf16_to_float(a[2 * k + 1]) * bf16_to_float(wk[1]);
        }
        out = acc + g.bias[col];
      } else {
        const auto* a = static_cast<const float*>(g.a) + r * g.lda;
        float acc = 0.f;
        for (std::size_t k = 0; k < groups; ++k) {
          float wk;
          std::memcpy(&wk, w + k * width * 4, sizeof wk);
          acc += a[k] * wk;
        }
        out = acc + g.bias[col];
      }
      g.y[r * g.ldy + col] = out;
    }
  }
  for (std::size_t r = 0; r < g.rows; ++r) activate_body(g.y + r * g.ldy + n_begin, n_end - n_begin, g.activation);
}

void driver_scalar(const GemmArgs& g, ColumnSource& columns) {
  std::size_t begin = 0, end = 0;
  while (columns.next(begin, end)) driver_scalar_range(g, begin, end);
}

GemmIsa detect_gemm_isa(GemmType type) {
  const CpuFeatures f = detect_cpu_features();
  GemmIsa cap = GemmIsa::kAvx512Bf16;
  if (const char* v = std::getenv("SENTI_MAX_ISA"); v != nullptr) {
    const std::string value(v);
    if (value == "avx_vnni") cap = GemmIsa::kAvxVnni;
    if (value == "avx2") cap = GemmIsa::kAvx2;
    if (value == "scalar" || value == "sse" || value == "none") cap = GemmIsa::kScalar;
  }
  const bool avx512 = f.avx512f && f.avx512bw && f.avx512vl && f.fma;
  const bool avx2 = f.avx2 && f.fma;
  auto allowed = [&](GemmIsa isa) { return static_cast<int>(isa) <= static_cast<int>(cap); };
  switch (type) {
    case GemmType::kInt8:
      if (avx512 && f.avx512_vnni && allowed(GemmIsa::kAvx512Vnni)) return GemmIsa::kAvx512Vnni;
      if (avx2 && f.avx_vnni && allowed(GemmIsa::kAvxVnni)) return GemmIsa::kAvxVnni;
      if (avx2 && allowed(GemmIsa::kAvx2)) return GemmIsa::kAvx2;
      return GemmIsa::kScalar;
    case GemmType::kBf16:
      if (avx512 && f.avx512_bf16 && allowed(GemmIsa::kAvx512Bf16)) return GemmIsa::kAvx512Bf16;
      return GemmIsa::kScalar;
    case GemmType::kFp32:
      if (avx512 && allowed(GemmIsa::kAvx512)) return GemmIsa::kAvx512;
      if (avx2 && allowed(GemmIsa::kAvx2)) return GemmIsa::kAvx2;
      return GemmIsa::kScalar;
  }
  return GemmIsa::kScalar;
}

}  // namespace

GemmIsa gemm_isa(GemmType type) {
  static const GemmIsa isas[] = {detect_gemm_isa(GemmType::kInt8), detect_gemm_isa(GemmType::kBf16),
                                 detect_gemm_isa(GemmType::kFp32)};
  return isas[static_cast<int>(type)];
}

const char* gemm_isa_name(GemmIsa isa) {
  switch (isa) {
    case GemmIsa::kScalar: return "scalar";
    case GemmIsa::kAvx2: return "avx2";
    case GemmIsa::kAvxVnni: return "avx_vnni";
    case GemmIsa::kAvx512: return "avx512";
    case GemmIsa::kAvx512Vnni: return "avx512_vnni";
    case GemmIsa::kAvx512Bf16: return "avx512_bf16";
  }
  return "?";
}

// Whether int8 on `isa` runs Int8Avx2 (kAvx512 has no VNNI either), and so takes its ranges.
static bool runs_int8_avx2(GemmIsa isa) { return isa == GemmIsa::kAvx2 || isa == GemmIsa::kAvx512; }
bool gemm_needs_7bit_weights(GemmIsa isa) { return runs_int8_avx2(isa); }
int gemm_activation_limit(GemmIsa isa) { return runs_int8_avx2(isa) ? Int8Avx2<2>::kActivationLimit : 127; }
int gemm_fast_activation_limit(GemmIsa isa) {
  return runs_int8_avx2(isa) ? Int8Avx2<3>::kActivationLimit : gemm_activation_limit(isa);
}

std::size_t gemm_group_elements(GemmType type) {
  switch (type) {
    case GemmType::kInt8: return 4;
    case GemmType::kBf16: return 2;
    case GemmType::kFp32: return 1;
  }
  return 1;
}

std::size_t gemm_padded_n(std::size_t n) { return (n + kBlock - 1) / kBlock * kBlock; }

std::size_t gemm_padded_k(GemmType type, std::size_t k) {
  const std::size_t e = gemm_group_elements(type);
  return (k + e - 1) / e * e;
}

std::size_t gemm_packed_bytes(GemmType type, std::size_t n, std::size_t k) {
  return gemm_padded_n(n) * gemm_padded_k(type, k) * (4 / gemm_group_elements(type));
}

std::size_t gemm_panel_columns(GemmType type, GemmIsa isa) {
  const bool wide = (type == GemmType::kInt8 && static_cast<int>(isa) >= static_cast<int>(GemmIsa::kAvx512Vnni)) ||
                    (type == GemmType::kBf16 && isa == GemmIsa::kAvx512Bf16) ||
                    (type == GemmType::kFp32 && static_cast<int>(isa) >= static_cast<int>(GemmIsa::kAvx512));
  return wide ? kPanel512 : kPanel256;
}

void gemm_pack(GemmType type, GemmIsa isa, const void* weight, std::size_t n, std::size_t k, void* packed) {
  const std::size_t e = gemm_group_elements(type), elem = 4 / e;
  const std::size_t np = gemm_padded_n(n), groups = gemm_padded_k(type, k) / e;
  const std::size_t panel = gemm_panel_columns(type, isa);
  auto* out = static_cast<std::byte*>(packed);
  const auto* in = static_cast<const std::byte*>(weight);
  std::memset(out, 0, gemm_packed_bytes(type, n, k));
  for (std::size_t col = 0; col < n; ++col) {
    const std::size_t p0 = col / panel * panel, width = std::min(panel, np - p0);
    std::byte* column = out + (p0 * groups + (col - p0)) * 4;
    for (std::size_t kk = 0; kk < k; ++kk)
      std::memcpy(column + (kk / e) * width * 4 + (kk % e) * elem, in + (col * k + kk) * elem, elem);
  }
}

namespace {

void run_columns(GemmIsa isa, const GemmArgs& g, ColumnSource& columns) {
  if (g.rows == 0) return;
  switch (g.type) {
    case GemmType::kInt8:
      if (isa == GemmIsa::kAvx512Vnni || isa == GemmIsa::kAvx512Bf16) return driver512<Int8Vnni512>(g, columns);
      if (isa == GemmIsa::kAvxVnni) return driver256<Int8Vnni256>(g, columns);
      if (runs_int8_avx2(isa)) {
        if (g.activation_limit <= Int8Avx2<3>::kActivationLimit) return driver256<Int8Avx2<3>>(g, columns);
        return driver256<Int8Avx2<2>>(g, columns);
      }
      return driver_scalar(g, columns);
    case GemmType::kBf16:
      if (isa == GemmIsa::kAvx512Bf16) return driver512<Bf16Dot512>(g, columns);
      return driver_scalar(g, columns);
    case GemmType::kFp32:
      if (static_cast<int>(isa) >= static_cast<int>(GemmIsa::kAvx512)) return driver512<Fp32Fma512>(g, columns);
      if (isa == GemmIsa::kAvx2 || isa == GemmIsa::kAvxVnni) return driver256<Fp32Fma256>(g, columns);
      return driver_scalar(g, columns);
  }
}

// The output panels of one parallel call. Each thread owns an equal share of consecutive panels and
// takes from its front, half of what is left at a time (so its weights stream in order, the next range
// prefetched from the current one); a thread whose share is done takes half of what is left of the
// largest other share, from its back. On a shared host a vCPU is often slowed or descheduled for a while:
// with fixed halves the other thread then waited at the join. Measured on the 2-core AVX2 host (perf,
// rbt3 int8 at batch 1, 2 threads, the seed sentences, two alternating pairs while the host was heavily
// loaded): the calling thread's samples waiting at joins 11% -> 2.4%, the worker's 16% -> 11%, p50
// 3.52 / 3.85 -> 3.44 / 3.17 ms. In quiet minutes the two were within the noise (1.7-1.9 ms). Large calls,
// whose activations do not fit one packing (gemm_run), keep fixed shares.
class PanelClaims {
 public:
  static constexpr int kMaxParts = 64;
  PanelClaims(std::size_t first_panel, std::size_t panels, std::size_t panel, std::size_t n_end, int parts)
      : panel_(panel), n_end_(n_end), parts_(parts) {
    for (int t = 0; t < parts; ++t) {
      const std::size_t lo = share_begin(first_panel, panels, t, parts), hi = share_begin(first_panel, panels, t + 1, parts);
      shares_[t].range.store(lo << 32 | hi, std::memory_order_relaxed);
    }
  }
  // Columns [begin, end) for thread `part`, or false when no panel is left.
  bool next(int part, std::size_t& begin, std::size_t& end) {
    std::size_t lo = 0, hi = 0;
    if (!take(part, true, lo, hi)) {
      for (;;) {
        int victim = -1;
        std::size_t most = 0;
        for (int t = 0; t < parts_; ++t) {
          const uint64_t v = shares_[t].range.load(std::memory_order_relaxed);
          const std::size_t left = (v & 0xffffffffu) - std::min<std::size_t>(v >> 32, v & 0xffffffffu);
          if (left > most) most = left, victim = t;
        }
        if (victim < 0) return false;
        if (take(victim, false, lo, hi)) break;
      }
    }
    begin = lo * panel_, end = std::min(n_end_, hi * panel_);
    return true;
  }

 private:
  // Half of what is left of share t (at least one panel), from its front or its back.
  bool take(int t, bool front, std::size_t& lo, std::size_t& hi) {
    std::atomic<uint64_t>& range = shares_[t].range;
    uint64_t v = range.load(std::memory_order_relaxed);
    for (;;) {
      const std::size_t a = v >> 32, b = v & 0xffffffffu;
      if (a >= b) return false;
      const std::size_t n = (b - a + 1) / 2;
      const uint64_t taken = front ? ((a + n) << 32 | b) : (a << 32 | (b - n));
      if (range.compare_exchange_weak(v, taken, std::memory_order_relaxed)) {
        lo = front ? a : b - n, hi = front ? a + n : b;
        return true;
      }
    }
  }
  struct alignas(64) Share {
    std::atomic<uint64_t> range{0};  // panels [lo, hi) not yet taken: lo << 32 | hi
  };
  Share shares_[kMaxParts];
  std::size_t panel_, n_end_;
  int parts_;
};

// The ranges thread `part` takes from a call's PanelClaims.
class ClaimedRanges final : public ColumnSource {
 public:
  ClaimedRanges(PanelClaims& claims, int part, std::size_t n_end) : ColumnSource(n_end), claims_(claims), part_(part) {}
  bool next(std::size_t& begin, std::size_t& end) override { return claims_.next(part_, begin, end); }

 private:
  PanelClaims& claims_;
  int part_;
};

}  // namespace

void gemm_run_columns(GemmIsa isa, const GemmArgs& g, std::size_t n_begin, std::size_t n_end) {
  OneRange columns(n_begin, n_end);
  run_columns(isa, g, columns);
}

void gemm_run(GemmIsa isa, const GemmArgs& g, int threads) { gemm_run(isa, g, threads, 0, g.n); }

void gemm_run(GemmIsa isa, const GemmArgs& g, int threads, std::size_t n_begin, std::size_t n_end) {
  // Below this many multiply-adds a fork/join costs more than it saves.
  constexpr std::size_t kParallelWork = 1 << 18;
  const std::size_t panel = gemm_panel_columns(g.type, isa), first_panel = n_begin / panel;
  const std::size_t panels = (n_end + panel - 1) / panel - first_panel;
  if (threads <= 1 || panels < 2 || g.rows * (n_end - n_begin) * g.k < kParallelWork)
    return gemm_run_columns(isa, g, n_begin, n_end);
  const int used = static_cast<int>(std::min<std::size_t>(
      {panels, static_cast<std::size_t>(threads), static_cast<std::size_t>(PanelClaims::kMaxParts)}));
  if (!packs_once(g)) {
    // Large calls: fixed shares (a claimed range would repack its rows' activations).
    parallel_run(used, [&](int part, int parts) {
      gemm_run_columns(isa, g, share_begin(first_panel, panels, part, parts) * panel,
                       std::min(n_end, share_begin(first_panel, panels, part + 1, parts) * panel));
    });
    return;
  }
  PanelClaims claims(first_panel, panels, panel, n_end, used);
  parallel_run(used, [&](int part, int) {
    ClaimedRanges columns(claims, part, n_end);
    run_columns(isa, g, columns);
  });
}

namespace {

bool self_check_at(GemmType type, GemmIsa isa, int activation_limit) {
  constexpr std::size_t rows = 13, n = 83, k = 70;  // not multiples of any tile
  const std::size_t e = gemm_group_elements(type), elem = 4 / e, kp = gemm_padded_k(type, k);
  std::vector<std::byte> weight(n * k * elem), a(rows * kp * elem);
  uint32_t state = 2463534242u;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  };
  auto fill = [&](std::vector<std::byte>& v, bool activations) {
    for (std::size_t i = 0; i < v.size() / elem; ++i) {
      const float f = static_cast<float>(next() % 2001) / 1000.f - 1.f;
      if (type == GemmType::kInt8) {
        const int range = activations ? 2 * activation_limit + 2 : (gemm_needs_7bit_weights(isa) ? 127 : 255);
        const auto q = static_cast<int>(next() % static_cast<uint32_t>(range));
        v[i] = static_cast<std::byte>(activations ? q : q - range / 2);
      } else if (type == GemmType::kBf16) {
        uint32_t bits;
        std::memcpy(&bits, &f, sizeof bits);
        const auto h = static_cast<uint16_t>(bits >> 16);
        std::memcpy(&v[i * 2], &h, 2);
      } else {
        std::memcpy(&v[i * 4], &f, 4);
      }
    }
  };
  fill(weight, false);
  fill(a, true);
  std::vector<float> bias(n), scales(n), compensation(n), row_scales(rows);
  for (std::size_t i = 0; i < n; ++i) {
    bias[i] = static_cast<float>(i % 7) * 0.1f - 0.3f;
    scales[i] = 0.01f + 0.001f * static_cast<float>(i % 5);
    compensation[i] = -0.5f + 0.01f * static_cast<float>(i % 11);
  }
  for (std::size_t r = 0; r < rows; ++r) row_scales[r] = 0.02f + 0.001f * static_cast<float>(r);
  // Each ISA's own panel layout: the scalar kernel's may differ from the tested kernel's.
  std::vector<std::byte> packed(gemm_packed_bytes(type, n, k)), packed_scalar(packed.size());
  gemm_pack(type, isa, weight.data(), n, k, packed.data());
  gemm_pack(type, GemmIsa::kScalar, weight.data(), n, k, packed_scalar.data());
  std::vector<float> want(rows * n), got(rows * n);
  GemmArgs g;
  g.type = type;
  g.rows = rows;
  g.n = n;
  g.k = k;
  g.a = a.data();
  g.lda = kp;
  g.packed = packed.data();
  g.ldy = n;
  g.bias = bias.data();
  g.activation = GemmActivation::kGeluErf;
  g.weight_scales = scales.data();
  g.compensation = compensation.data();
  g.row_scales = row_scales.data();
  g.activation_limit = activation_limit;
  g.y = want.data();
  g.packed = packed_scalar.data();
  gemm_run_columns(GemmIsa::kScalar, g, 0, n);
  g.y = got.data();
  g.packed = packed.data();
  gemm_run_columns(isa, g, 0, n);
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (!(std::fabs(got[i] - want[i]) <= 1e-3f * (1.f + std::fabs(want[i])))) {
      std::fprintf(stderr, "senti: %s failed its self-check (element %zu: %g, reference %g); using oneDNN instead\n",
                   gemm_kernel_name(type, isa).c_str(), i, static_cast<double>(got[i]), static_cast<double>(want[i]));
      return false;
    }
  }
  return true;
}

// Every code path of the host's kernel for the type (int8 on AVX2: both activation ranges).
bool self_check(GemmType type) {
  const GemmIsa isa = gemm_isa(type);
  if (isa == GemmIsa::kScalar) return true;
  if (!self_check_at(type, isa, gemm_activation_limit(isa))) return false;
  return type != GemmType::kInt8 || gemm_fast_activation_limit(isa) == gemm_activation_limit(isa) ||
         self_check_at(type, isa, gemm_fast_activation_limit(isa));
}

}  // namespace

bool gemm_self_check(GemmType type) {
  static const bool ok[] = {self_check(GemmType::kInt8), self_check(GemmType::kBf16), self_check(GemmType::kFp32)};
  return ok[static_cast<int>(type)];
}

std::string gemm_kernel_name(GemmType type, GemmIsa isa) {
  const char* t = type == GemmType::kInt8 ? "int8" : type == GemmType::kBf16 ? "bf16" : "fp32";
  return std::string("senti-") + t + "-" + gemm_isa_name(isa);
}

}  // namespace senti::cpu
