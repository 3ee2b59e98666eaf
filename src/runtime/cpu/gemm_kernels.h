// senti's own GEMM kernels for the encoder's linear layers: y = act(x · Wᵀ + b) with W pre-packed.
//
// Hand-written because oneDNN 2.6 (Debian's) is weak at the shapes BERT serving runs most: a few
// to a few dozen rows (tokens) against a weight of 0.5-2.4 M entries. At those shapes the work is
// bound by streaming the weights once, so the kernel holds up to 6 rows × 64 output columns of
// accumulators in registers, loads each weight vector once per 6 rows and broadcasts the
// activations (one 32-bit group per row and step), and fuses the dequantisation, bias and GELU
// into the store. Threads split the output columns (no reduction across threads).
//
// The packed layout: the output columns are padded to a multiple of 16 and cut into panels (64
// columns for the 512-bit kernels, 16 for the 256-bit and scalar ones: gemm_panel_columns; the last
// panel may be narrower); within a panel, for each group of K (4 int8 / 2 bf16 / 1 fp32 values = 32
// bits), the panel's columns lie side by side, each with its 32-bit group: [panel][k group][column]
// [group]. A 512-bit load gives 16 columns × 1 group, a 256-bit load 8 columns; each kernel's tile
// column then reads its weights as one contiguous stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace senti::cpu {

enum class GemmType { kInt8, kBf16, kFp32 };

// The instruction set a GEMM runs on, fastest first in this order of preference.
enum class GemmIsa {
  kScalar = 0,      // reference loops (any x86-64)
  kAvx2 = 1,        // int8: vpmaddubsw + vpmaddwd (weights must keep 7 bits); fp32: FMA
  kAvxVnni = 2,     // int8: 256-bit vpdpbusd (AVX-VNNI); fp32: FMA
  kAvx512 = 3,      // fp32: 512-bit FMA; int8: like kAvx2 (no VNNI)
  kAvx512Vnni = 4,  // int8: 512-bit vpdpbusd; fp32: 512-bit FMA
  kAvx512Bf16 = 5,  // all of the above plus vdpbf16ps
};

// The best GEMM ISA of this host for `type`, capped by SENTI_MAX_ISA (avx512 | avx_vnni | avx2 |
// scalar). bf16 needs kAvx512Bf16 (returns kScalar when the host lacks it: callers fall back).
GemmIsa gemm_isa(GemmType type);
const char* gemm_isa_name(GemmIsa isa);
// Whether int8 GEMMs on this ISA need 7-bit weights (vpmaddubsw saturates 16-bit pair sums).
bool gemm_needs_7bit_weights(GemmIsa isa);
// The largest |q| of the int8 activations this ISA's kernel takes (u8 = q + limit + 1, zero point
// limit + 1; quantize_rows_u8 quantises to a limit): 63 on kAvx2 (and kAvx512, which runs the same
// int8 kernel), whose kernel adds two vpmaddubsw results in 16 bits before widening them
// (4 · 127 · 63 < 2^15), 127 elsewhere.
int gemm_activation_limit(GemmIsa isa);
// A smaller limit at which the kernel runs faster, for inputs without outliers: 42 on kAvx2/kAvx512
// (three vpmaddubsw results added before widening: 6 · 85 · 63 < 2^15; 1.05-1.07x at 20 rows), else
// gemm_activation_limit. PackedLinear uses it except where keep_activation_resolution (GELU outputs, pooler).
int gemm_fast_activation_limit(GemmIsa isa);

// Bytes of one packed element group (always 4) and elements per group.
std::size_t gemm_group_elements(GemmType type);
// Columns padded to 16; K padded to the group size.
std::size_t gemm_padded_n(std::size_t n);
std::size_t gemm_padded_k(GemmType type, std::size_t k);
std::size_t gemm_packed_bytes(GemmType type, std::size_t n, std::size_t k);

// Columns per panel of the layout `isa`'s kernel for `type` reads (16 or 64).
std::size_t gemm_panel_columns(GemmType type, GemmIsa isa);

// Packs a row-major [n, k] weight (PyTorch's nn.Linear layout) of the type's element (int8_t,
// uint16_t holding bf16 bits, float) into `packed` (gemm_packed_bytes, zero padding included), in
// the panel layout of `isa`'s kernel: gemm_run* must then be given that same isa.
void gemm_pack(GemmType type, GemmIsa isa, const void* weight, std::size_t n, std::size_t k, void* packed);

enum class GemmActivation { kNone, kGeluErf, kTanh };

struct GemmArgs {
  GemmType type = GemmType::kFp32;
  std::size_t rows = 0, n = 0, k = 0;
  // Activations [rows, lda] in the type's element: u8 for int8 (at most 2 · activation_limit + 1),
  // bf16 bits, fp32;
  // lda ≥ gemm_padded_k(type, k), the padding columns finite (any value: the weights there are 0).
  const void* a = nullptr;
  std::size_t lda = 0;
  const void* packed = nullptr;  // gemm_pack's output for the isa it is run with
  float* y = nullptr;            // [rows, ldy] fp32
  std::size_t ldy = 0;
  const float* bias = nullptr;   // [n]
  GemmActivation activation = GemmActivation::kNone;
  // int8 only: y = (scale[n] · Σ a·w + compensation[n]) · row_scale[r] + bias[n], where
  // compensation = -zero point · scale · Σ_k w removes the u8 zero point.
  const float* weight_scales = nullptr;
  const float* compensation = nullptr;
  const float* row_scales = nullptr;
  // int8 only: the activations' limit (u8 at most 2 · limit + 1), at most gemm_activation_limit(isa).
  int activation_limit = 127;
};

// Runs the GEMM on the calling thread over output columns [n_begin, n_end) (multiples of the isa's
// panel width, except that n_end may be n).
void gemm_run_columns(GemmIsa isa, const GemmArgs& args, std::size_t n_begin, std::size_t n_end);

// Runs the GEMM split over `threads` threads (compute_pool.h) by output-column panels (1: calling thread).
void gemm_run(GemmIsa isa, const GemmArgs& args, int threads);
// The same over output columns [n_begin, n_end) only (n_begin a multiple of the isa's panel width;
// n_end one too, or n): the other columns of y are left as they are.
void gemm_run(GemmIsa isa, const GemmArgs& args, int threads, std::size_t n_begin, std::size_t n_end);

// Whether the host's kernel for `type` (gemm_isa(type)) gives the scalar reference's results on a
// small odd-shaped problem: checked once per process (microseconds), so that a kernel that could
// not be tested on the development machine (the AVX-512 ones were written on an AVX2-only host)
// never gives wrong answers: callers fall back to oneDNN when it fails (a warning on stderr).
bool gemm_self_check(GemmType type);

// The kernel's name for logs and profiles, e.g. "senti-int8-avx512_vnni".
std::string gemm_kernel_name(GemmType type, GemmIsa isa);

}  // namespace senti::cpu
