// y = act(x · Wᵀ + b) with W packed once (at load), in fp32, bf16 or int8, on oneDNN matmul (W in
// the blocked layout the host's oneDNN kernel picks: format_tag::any + reorder) and senti's own kernel
// (gemm_kernels.h, W also in its panel layout; senti_kernel_enabled): bf16 on one of the two for
// every row count, int8 (and fp32 on AVX2 hosts) on senti's for small row counts
// (senti_kernel_mixes_with_onednn):
// - bf16: weights bf16, activations converted to bf16 per call, fp32 accumulation and output;
// - int8: weights s8 with one symmetric scale per output channel; activations quantised per token
//   (symmetric, u8 with zero point limit + 1: ±42 levels on AVX2 hosts, ±63 there for GELU outputs and
//   the pooler (keep_activation_resolution), ±127 elsewhere: gemm_fast_activation_limit)
//   on every call, so a text's result never depends on the others in its batch; the s32 result is
//   rescaled to fp32 (bias and GELU in the same pass), with the same arithmetic on both kernels.
// Primitives are cached per row count; memory objects are reused (set_data_handle), and scratch
// buffers only grow, so there is no allocation on the hot path once warm.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "runtime/cpu/gemm_kernels.h"
#include "runtime/cpu/precision.h"

namespace senti::cpu {

enum class Activation { kNone, kGeluErf, kTanh };

// 64-byte aligned bytes (oneDNN's preferred alignment for packed weights).
class AlignedBytes {
 public:
  AlignedBytes() = default;
  explicit AlignedBytes(std::size_t size);
  std::byte* data() const { return data_.get(); }
  std::size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(std::byte* p) const noexcept;
  };
  std::unique_ptr<std::byte, Free> data_;
  std::size_t size_ = 0;
};

// senti's kernel (gemm_kernels.h) runs where the host has one: int8 (all ISAs; oneDNN 2.6 on AVX2
// was 1.4-9x slower up to ~18 rows here), fp32 (AVX2 and AVX-512 FMA) and bf16 (AVX512-BF16), not on
// AMX hosts for int8/bf16 (oneDNN's AMX brgemm) unless SENTI_GEMM=senti. SENTI_GEMM=onednn turns it off.
bool senti_kernel_enabled(Precision precision);
// Whether calls of different row counts may go to different kernels (senti's for few rows, oneDNN's
// for many): int8 only, whose sums are exact s32 on both kernels with one shared epilogue, so a row's
// result never depends on the other rows of its call. fp32 and bf16 run senti's kernel for every row
// count (one accumulation order per output whatever the batch: batch == single bit for bit), or
// oneDNN's for every row count where senti's is off.
bool senti_kernel_mixes_with_onednn(Precision precision);
// Calls of at most this many rows go to senti's kernel, larger ones to oneDNN's (where the
// precision mixes; else unlimited). By default every row count, on every ISA: on the AVX2 host senti's
// int8 kernel was 1.0-1.1x oneDNN's gemm:jit from 256 to 2048 rows (gemm_kernels.cc); on the AVX-512
// VNNI host (Zen 4, senti_kernel_bench, 1 thread, rbt3's shapes) 1.5-1.9x oneDNN's brgemm at 8-20 rows,
// 0.96-1.04x at 32-64 and 0.98-1.10x at 256-1024 (its tiles at 85-94% of the measured vpdpbusd peak),
// and rbt3 at batch 1 ran 2.4-2.6 ms against 3.6-4.3 ms with the former 16-row cap (oneDNN's calls of
// 17-20 rows were computed as 32: its shape buckets). SENTI_GEMM_ROWS=N sets a cap,
// SENTI_GEMM_ROWS=measure measures one at load (CpuBackend), SENTI_GEMM=onednn turns senti's off.
std::size_t default_senti_max_rows(Precision precision);
// The largest |q| of the int8 weights packed on this host: 127 where every int8 kernel that may run
// takes 8-bit weights (VNNI), else 63.
int int8_weight_limit();

// The packed form of one linear layer: what senti compile stores and what PackedLinear runs.
struct PackedLinearData {
  Precision precision = Precision::kFp32;
  std::size_t in = 0, out = 0;
  dnnl::memory::desc weights_desc;           // oneDNN: layout of `weights`
  const std::byte* weights = nullptr;        // weights_desc.get_size() bytes, 64-byte aligned
  std::vector<float> bias;                   // [out]
  std::vector<float> weight_scales;          // int8: [out]
  std::vector<float> compensation;           // int8: [out], -128 · scale · Σ_k W[n, k]
  int weight_limit = 127;                    // int8: largest |q| (63 where the host lacks VNNI)
};

class PackedLinear {
 public:
  // Packs a row-major [out, in] fp32 weight (PyTorch's nn.Linear layout) and its [out] bias.
  PackedLinear(const dnnl::engine& engine, const float* weight, const float* bias, std::size_t out, std::size_t in,
               Activation activation, Precision precision);
  // Adopts already packed weights (from a compiled model; `data.weights` must outlive this object).
  // When the host's kernel wants another layout (other ISA), the weights are re-packed by reorder.
  PackedLinear(const dnnl::engine& engine, PackedLinearData data, Activation activation);

  PackedLinear(PackedLinear&&) noexcept;
  PackedLinear& operator=(PackedLinear&&) noexcept;
  ~PackedLinear();

  // x: [rows, in] fp32 row-major; y: [rows, out] fp32 row-major. With pad_rows, the matmul runs on
  // padded_rows(rows) rows (x and y must have room for them; the extra rows are don't-care): this
  // bounds the number of distinct shapes, hence of primitive creations (JIT), to a few dozen.
  void forward(dnnl::stream& stream, const float* x, std::size_t rows, float* y, bool pad_rows = false);
  // Output columns [begin, end) of forward's result only, into y with row stride ldy (≥ end; the other
  // columns untouched), each value the same as forward's: where senti's kernel runs `rows` rows and
  // begin and end are on its panel boundaries (end may be out). Returns false, computing nothing,
  // where it cannot: the caller then runs forward.
  bool forward_columns(const float* x, std::size_t rows, float* y, std::size_t ldy, std::size_t begin, std::size_t end);

  // Creates the primitive for this row count now (JIT), so that the first request of that size
  // does not pay for it.
  void prepare(std::size_t rows) {
    if (rows > senti_max_rows_ && any_rows_plan(rows) == nullptr) plan_for(rows);
  }

  // rows rounded up to a shape bucket: 16 below 64, 32 below 256, 64 below 1024, then 256.
  static std::size_t padded_rows(std::size_t rows);

  const PackedLinearData& data() const { return data_; }
  bool repacked() const { return repacked_; }  // adopted weights had to be re-packed for this host
  // The kernels that run, e.g. "senti-int8-avx512_vnni up to 16 rows, then brg:avx512_core_vnni",
  // "senti-fp32-avx2" (every row count) or oneDNN's alone.
  std::string implementation() const;
  std::string onednn_implementation() const;  // e.g. "brg:avx512_core_vnni"

  // senti's kernel: whether this layer has it, and the largest row count it runs (0: none).
  bool has_senti_kernel() const { return senti_weights_.size() != 0; }
  // int8: quantise this layer's inputs to gemm_activation_limit instead of the faster (coarser)
  // gemm_fast_activation_limit; for inputs with outliers (GELU outputs). Before the first forward.
  void keep_activation_resolution();
  std::size_t senti_max_rows() const { return senti_max_rows_; }
  void set_senti_max_rows(std::size_t rows);
  // When senti's kernel takes every row count, frees the oneDNN-layout copy of the weights that this
  // object packed (a serving process never reads it; data().weights is null afterwards, so the layer
  // can no longer be written by senti compile). Returns the bytes freed.
  std::size_t release_onednn_weights();

 private:
  struct Plan {
    dnnl::matmul matmul;
    dnnl::memory src, dst;
  };
  // rows == 0: a runtime row count (DNNL_RUNTIME_DIM_VAL).
  dnnl::matmul::primitive_desc make_pd(std::size_t rows, const dnnl::memory::desc& weights) const;
  Plan& plan_for(std::size_t rows);
  // The plan for exactly `rows` rows from the one primitive of any row count, when oneDNN runs the same
  // kernel for it as for fixed shapes (gemm:jit, on hosts without brgemm): no padded rows computed and
  // no JIT per shape. nullptr where it would run another (slower) kernel: then fixed shapes, padded.
  Plan* any_rows_plan(std::size_t rows);
  void finish_init();
  void set_activation_limit(int limit);
  void pack_senti(const void* plain);  // plain [out, in] weight in the precision's element type
  void pack_senti_from_onednn();
  void forward_senti(const float* x, std::size_t rows, float* y, std::size_t ldy, std::size_t begin, std::size_t end);

  dnnl::engine engine_;
  Activation activation_;
  PackedLinearData data_;
  AlignedBytes owned_;  // packed weights when packed here (or re-packed)
  bool repacked_ = false;
  dnnl::memory weights_mem_, bias_mem_;
  std::unordered_map<std::size_t, Plan> plans_;
  enum class AnyRows { kUnknown, kYes, kNo } any_rows_state_ = AnyRows::kUnknown;
  Plan any_rows_;  // its src/dst descriptors name the row count of the last call
  std::vector<uint16_t> bf16_input_;
  std::vector<uint8_t> u8_input_;
  std::vector<float> row_scales_;
  std::vector<int32_t> s32_output_;  // int8 on oneDNN: its exact sums, before dequantize_s32_rows
  int activation_limit_ = 127;       // int8: the activations' largest |q| (gemm_activation_limit)
  std::vector<float> compensation_;  // int8: data_.compensation for the activations' zero point
  std::vector<float> padded_input_;  // fp32 activations when K is not a whole number of groups
  AlignedBytes senti_weights_;  // senti's panel layout (gemm_kernels.h), when it runs here
  std::size_t senti_max_rows_ = 0;
  GemmIsa gemm_isa_ = GemmIsa::kScalar;
  std::string onednn_name_;  // for SENTI_PROFILE
};

}  // namespace senti::cpu
