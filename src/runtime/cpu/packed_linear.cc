#include "runtime/cpu/packed_linear.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <new>
#include <string_view>

#include <sys/mman.h>

#include "runtime/cpu/activation_kernels.h"
#include "runtime/cpu/compute_pool.h"
#include "runtime/cpu/profile.h"
#include "runtime/cpu/vector_math.h"
#include "senti/error.h"
#include "senti/host_info.h"

namespace senti::cpu {
namespace {

using dnnl::memory;
using dt = memory::data_type;

constexpr std::size_t kMaxCachedShapes = 512;
// Row count used to ask oneDNN for its preferred weight layout; the layout does not depend on it
// for the brgemm and gemm kernels of oneDNN 2.6 (checked for 1..16384 rows), and every later
// primitive is created with the packed layout spelled out.
constexpr std::size_t kLayoutQueryRows = 32;

memory::dim dim(std::size_t v) { return static_cast<memory::dim>(v); }

dt source_type(Precision p) {
  switch (p) {
    case Precision::kFp32: return dt::f32;
    case Precision::kBf16: return dt::bf16;
    case Precision::kInt8: return dt::u8;
  }
  return dt::f32;
}

dt weight_type(Precision p) {
  switch (p) {
    case Precision::kFp32: return dt::f32;
    case Precision::kBf16: return dt::bf16;
    case Precision::kInt8: return dt::s8;
  }
  return dt::f32;
}

// PyTorch's row-major [out, in] weight seen as oneDNN's [in, out] matrix, without copying.
memory::desc transposed_view(std::size_t out, std::size_t in, dt type) {
  return memory::desc({dim(in), dim(out)}, type, memory::dims{1, dim(in)});
}

void reorder_into(const dnnl::engine& engine, const memory::desc& from_desc, const void* from,
                  const memory::desc& to_desc, void* to) {
  dnnl::stream stream(engine);
  memory src(from_desc, engine, const_cast<void*>(from));
  memory dst(to_desc, engine, to);
  dnnl::reorder(src, dst).execute(stream, src, dst);
  stream.wait();
}

// Largest |q| of int8 weights. Without VNNI, oneDNN's u8·s8 kernels add pairs of products in
// saturating int16 (vpmaddubsw): 2 · 255 · 127 overflows, so weights keep 7 bits there. AVX2-VNNI
// hosts are treated as non-VNNI too: oneDNN 2.6's int8 gemm for them could not be checked here.
int weight_limit() {
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  const bool vnni = isa == dnnl::cpu_isa::avx512_core_vnni || isa == dnnl::cpu_isa::avx512_core_bf16 ||
                    isa == dnnl::cpu_isa::avx512_core_amx;
  return vnni ? 127 : 63;
}

GemmType gemm_type(Precision p) {
  switch (p) {
    case Precision::kFp32: return GemmType::kFp32;
    case Precision::kBf16: return GemmType::kBf16;
    case Precision::kInt8: return GemmType::kInt8;
  }
  return GemmType::kFp32;
}

int senti_weight_limit() { return gemm_needs_7bit_weights(gemm_isa(GemmType::kInt8)) ? 63 : 127; }

GemmActivation gemm_activation(Activation a) {
  switch (a) {
    case Activation::kNone: return GemmActivation::kNone;
    case Activation::kGeluErf: return GemmActivation::kGeluErf;
    case Activation::kTanh: return GemmActivation::kTanh;
  }
  return GemmActivation::kNone;
}

// Per-output-channel symmetric scales: row n of the [out, in] weight is scaled by max|W[n, :]| /
// limit. Fills d's weight_limit, weight_scales and compensation (which removes the activations'
// u8 zero point: -128 · scale · Σ_k q[n, k]); returns the quantised [out, in] weight.
std::vector<int8_t> quantize_weights(const float* weight, int limit_int, PackedLinearData& d) {
  const std::size_t out = d.out, in = d.in;
  const auto limit = static_cast<float>(limit_int);
  d.weight_limit = limit_int;
  std::vector<int8_t> quantized(out * in);
  d.weight_scales.resize(out);
  d.compensation.resize(out);
  for (std::size_t n = 0; n < out; ++n) {
    const float* row = weight + n * in;
    float amax = 0.f;
    for (std::size_t k = 0; k < in; ++k) amax = std::max(amax, std::fabs(row[k]));
    const float scale = amax > 0.f ? amax / limit : 1.f;
    int32_t sum = 0;
    for (std::size_t k = 0; k < in; ++k) {
      // Not std::clamp: a NaN weight (or an infinite one, inf / inf) would pass it and reach the
      // float -> int conversion (undefined behaviour). Constants first turn it into -limit.
      const auto q = static_cast<int8_t>(std::min(limit, std::max(-limit, std::nearbyint(row[k] / scale))));
      quantized[n * in + k] = q;
      sum += q;
    }
    d.weight_scales[n] = scale;
    d.compensation[n] = -128.f * scale * static_cast<float>(sum);
  }
  return quantized;
}

uint16_t bf16_bits(float x) {
  uint16_t out;
  to_bf16(&x, 1, &out);
  return out;
}

}  // namespace

bool senti_kernel_enabled(Precision precision) {
  const char* forced = std::getenv("SENTI_GEMM");
  const std::string_view v = forced != nullptr ? forced : "";
  if (v == "onednn" || !gemm_self_check(gemm_type(precision))) return false;
  const CpuFeatures f = detect_cpu_features();
  switch (precision) {
    case Precision::kInt8: return v == "senti" || !(f.amx_int8 && f.os_amx);
    case Precision::kBf16:
      return gemm_isa(GemmType::kBf16) == GemmIsa::kAvx512Bf16 && (v == "senti" || !(f.amx_bf16 && f.os_amx));
    // fp32: senti's FMA kernel for every row count (batch == single bit for bit). On the AVX2 host
    // it was 0.97-1.0x oneDNN's gemm:jit at 512-2048 rows and 1.1-1.8x up to 256 (senti_kernel_bench);
    // the 512-bit one on the AVX-512 Zen 4 VM 1.45-1.84x oneDNN's brgemm at 8-20 rows and 0.93-1.12x at
    // 32-64, at 84-92% of the measured FMA peak (bench/results/roofline/2026-12-04_174443Z.md).
    case Precision::kFp32: return v == "senti" || gemm_isa(GemmType::kFp32) != GemmIsa::kScalar;
  }
  return false;
}

bool senti_kernel_mixes_with_onednn(Precision precision) { return precision == Precision::kInt8; }

// Both kernels' limit: with SENTI_MAX_ISA=avx2 on a VNNI host oneDNN takes 8-bit weights but senti's
// AVX2 kernel would saturate its 16-bit sums with them.
int int8_weight_limit() {
  return senti_kernel_enabled(Precision::kInt8) ? std::min(weight_limit(), senti_weight_limit()) : weight_limit();
}

std::size_t default_senti_max_rows(Precision precision) {
  constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();
  if (!senti_kernel_mixes_with_onednn(precision)) return kUnlimited;
  const char* forced = std::getenv("SENTI_GEMM");
  if (forced != nullptr && std::string_view(forced) == "senti") return kUnlimited;
  if (const char* rows = std::getenv("SENTI_GEMM_ROWS"); rows != nullptr && *rows >= '0' && *rows <= '9')
    return std::strtoul(rows, nullptr, 10);
  return kUnlimited;
}

AlignedBytes::AlignedBytes(std::size_t size) : size_(size) {
  // Weights on 2 MB pages where the kernel has them for the asking (transparent huge pages in "madvise"
  // mode, Debian's default): a batch-1 forward streams every weight once, rbt3's fp32 weights are 85 MB,
  // 21,000 4-KB pages against an L2 TLB of 2,048 entries, and under a hypervisor every miss is a
  // two-level page walk. Measured on the AVX2 EPYC VM, rbt3 at batch 1, alternating pairs: fp32 0.95x
  // the time at 1 thread (10 of 10 pairs faster), 0.975x at 2 (7 of 10); int8 1.00x (its weights are a
  // quarter the size). Only the 2-MB pages wholly inside the buffer are marked, so the resident size
  // does not grow.
  // SENTI_HUGEPAGES=0 turns it off.
  static const bool huge_pages = [] {
    const char* v = std::getenv("SENTI_HUGEPAGES");
    return v == nullptr || std::string_view(v) != "0";
  }();
  constexpr std::size_t kHugePage = std::size_t{2} << 20;
  const bool huge = huge_pages && size >= kHugePage;
  const std::size_t align = huge ? kHugePage : 64;
  const std::size_t rounded = (size + 63) / 64 * 64;
  void* p = std::aligned_alloc(align, rounded == 0 ? 64 : (rounded + align - 1) / align * align);
  if (p == nullptr) throw std::bad_alloc();
  // Advice only: where it is refused (THP off, an old kernel) the buffer keeps 4-KB pages.
  if (huge) ::madvise(p, size / kHugePage * kHugePage, MADV_HUGEPAGE);
  data_.reset(static_cast<std::byte*>(p));
}

void AlignedBytes::Free::operator()(std::byte* p) const noexcept { std::free(p); }

PackedLinear::PackedLinear(PackedLinear&&) noexcept = default;
PackedLinear& PackedLinear::operator=(PackedLinear&&) noexcept = default;
PackedLinear::~PackedLinear() = default;

dnnl::matmul::primitive_desc PackedLinear::make_pd(std::size_t rows, const memory::desc& weights) const {
  const Precision p = data_.precision;
  const memory::dim m = rows == 0 ? DNNL_RUNTIME_DIM_VAL : dim(rows);
  const memory::desc src({m, dim(data_.in)}, source_type(p), memory::format_tag::ab);
  const memory::desc row_vector({1, dim(data_.out)}, dt::f32, memory::format_tag::ab);
  dnnl::primitive_attr attr;
  dnnl::post_ops ops;
  if (p == Precision::kInt8) {
    // dst = Σ_k (q + 128)·W in s32, exact; dequantize_s32_rows then applies the weight and token
    // scales, the zero-point compensation, bias and GELU with the very arithmetic of senti's GEMM
    // epilogue, so both kernels give identical results (a text's result never depends on whether
    // its batch was large enough for oneDNN).
    const memory::desc dst({m, dim(data_.out)}, dt::s32, memory::format_tag::ab);
    return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weights, dst), attr, engine_);
  }
  const memory::desc dst({m, dim(data_.out)}, dt::f32, memory::format_tag::ab);
  if (activation_ == Activation::kGeluErf) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_gelu_erf, 0.f, 0.f);
  if (activation_ == Activation::kTanh) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_tanh, 0.f, 0.f);
  attr.set_post_ops(ops);
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weights, row_vector, dst), attr, engine_);
}

namespace {

dnnl::memory::desc preferred_layout(const std::function<dnnl::matmul::primitive_desc()>& make, Precision precision,
                                    [[maybe_unused]] const memory::desc& plain) {
  try {
    return make().weights_desc();
  } catch (const dnnl::error& e) {
#ifdef SENTI_ISA_EMULATION
    // tests/isa_emulation: oneDNN itself is not emulated and has no bf16 matmul on the AVX2 host
    // underneath. senti's bf16 kernel takes every row count, so the weights need only a layout oneDNN
    // can reorder into (and out of, for senti's packing).
    if (precision == Precision::kBf16 && senti_kernel_enabled(precision)) return plain;
#endif
    throw ModelError(std::string("oneDNN has no ") + precision_name(precision) +
                     " matmul for this CPU (bf16 needs AVX512-BF16 or AMX): " + e.what() +
                     "; use --precision fp32 or auto");
  }
}

}  // namespace

PackedLinear::PackedLinear(const dnnl::engine& engine, const float* weight, const float* bias, std::size_t out,
                           std::size_t in, Activation activation, Precision precision)
    : engine_(engine), activation_(activation) {
  data_.precision = precision;
  data_.in = in;
  data_.out = out;
  data_.bias.assign(bias, bias + out);
  const memory::desc any({dim(in), dim(out)}, weight_type(precision), memory::format_tag::any);
  const memory::desc plain({dim(in), dim(out)}, weight_type(precision), memory::format_tag::ab);
  if (precision == Precision::kInt8) {
    // Per-output-channel symmetric scales: row n of W is scaled by max|W[n, :]| / limit.
    const std::vector<int8_t> quantized = quantize_weights(weight, int8_weight_limit(), data_);
    data_.weights_desc = preferred_layout([&] { return make_pd(kLayoutQueryRows, any); }, precision, plain);
    owned_ = AlignedBytes(data_.weights_desc.get_size());
    reorder_into(engine_, transposed_view(out, in, dt::s8), quantized.data(), data_.weights_desc, owned_.data());
    if (senti_kernel_enabled(precision)) pack_senti(quantized.data());
  } else {
    data_.weights_desc = preferred_layout([&] { return make_pd(kLayoutQueryRows, any); }, precision, plain);
    owned_ = AlignedBytes(data_.weights_desc.get_size());
    reorder_into(engine_, transposed_view(out, in, dt::f32), weight, data_.weights_desc, owned_.data());
    if (senti_kernel_enabled(precision)) {
      if (precision == Precision::kBf16) {
        std::vector<uint16_t> converted(out * in);
        to_bf16(weight, out * in, converted.data());
        pack_senti(converted.data());
      } else {
        pack_senti(weight);
      }
    }
  }
  data_.weights = owned_.data();
  finish_init();
}

PackedLinear::PackedLinear(const dnnl::engine& engine, PackedLinearData data, Activation activation)
    : engine_(engine), activation_(activation), data_(std::move(data)) {
  if (data_.precision == Precision::kInt8 && data_.weight_limit > weight_limit()) {
    throw ModelError("int8 weights compiled for a CPU with VNNI (8-bit weights) cannot run on this one (no VNNI: "
                     "7-bit weights needed); compile the model on this host, or use fp32");
  }
  const memory::desc any({dim(data_.in), dim(data_.out)}, weight_type(data_.precision), memory::format_tag::any);
  const memory::desc plain({dim(data_.in), dim(data_.out)}, weight_type(data_.precision), memory::format_tag::ab);
  const memory::desc wanted = preferred_layout([&] { return make_pd(kLayoutQueryRows, any); }, data_.precision, plain);
  if (wanted != data_.weights_desc) {
    owned_ = AlignedBytes(wanted.get_size());
    reorder_into(engine_, data_.weights_desc, data_.weights, wanted, owned_.data());
    data_.weights_desc = wanted;
    data_.weights = owned_.data();
    repacked_ = true;
  }
  if (senti_kernel_enabled(data_.precision)) pack_senti_from_onednn();
  finish_init();
}

void PackedLinear::pack_senti_from_onednn() {
  if (data_.precision == Precision::kInt8 && data_.weight_limit > senti_weight_limit()) return;
  // senti's panel layout from oneDNN's: back to the plain [out, in] weight, then packed.
  const std::size_t element = data_.precision == Precision::kInt8 ? 1 : data_.precision == Precision::kBf16 ? 2 : 4;
  std::vector<std::byte> plain(data_.out * data_.in * element);
  reorder_into(engine_, data_.weights_desc, data_.weights,
               transposed_view(data_.out, data_.in, weight_type(data_.precision)), plain.data());
  pack_senti(plain.data());
}

void PackedLinear::finish_init() {
  weights_mem_ = memory(data_.weights_desc, engine_, const_cast<std::byte*>(data_.weights));
  const memory::desc row_vector({1, dim(data_.out)}, dt::f32, memory::format_tag::ab);
  bias_mem_ = memory(row_vector, engine_, data_.bias.data());
  // Both kernels of this layer take its activations quantised alike (batch == single).
  if (data_.precision == Precision::kInt8) set_activation_limit(has_senti_kernel() ? gemm_fast_activation_limit(gemm_isa_) : 127);
}

void PackedLinear::set_activation_limit(int limit) {
  activation_limit_ = limit;
  // data_.compensation removes the zero point 128 (what senti compile stores); the activations' zero
  // point is limit + 1: scaled by (limit + 1) / 128 (one float rounding; exact where that is a power of two).
  const float ratio = static_cast<float>(activation_limit_ + 1) / 128.f;
  compensation_.resize(data_.compensation.size());
  for (std::size_t i = 0; i < compensation_.size(); ++i) compensation_[i] = data_.compensation[i] * ratio;
}

void PackedLinear::keep_activation_resolution() {
  if (data_.precision == Precision::kInt8 && has_senti_kernel()) set_activation_limit(gemm_activation_limit(gemm_isa_));
}

void PackedLinear::pack_senti(const void* plain) {
  const GemmType type = gemm_type(data_.precision);
  gemm_isa_ = gemm_isa(type);
  senti_weights_ = AlignedBytes(gemm_packed_bytes(type, data_.out, data_.in));
  gemm_pack(type, gemm_isa_, plain, data_.out, data_.in, senti_weights_.data());
  senti_max_rows_ = default_senti_max_rows(data_.precision);
}

void PackedLinear::set_senti_max_rows(std::size_t rows) {
  if (has_senti_kernel() && senti_kernel_mixes_with_onednn(data_.precision)) senti_max_rows_ = rows;
}

bool PackedLinear::forward_columns(const float* x, std::size_t rows, float* y, std::size_t ldy, std::size_t begin,
                                   std::size_t end) {
  const std::size_t panel = gemm_panel_columns(gemm_type(data_.precision), gemm_isa_);
  if (rows == 0 || rows > senti_max_rows_ || begin % panel != 0 || (end % panel != 0 && end != data_.out) ||
      begin >= end || end > data_.out || ldy < end)
    return false;
  forward_senti(x, rows, y, ldy, begin, end);
  return true;
}

void PackedLinear::forward_senti(const float* x, std::size_t rows, float* y, std::size_t ldy, std::size_t begin,
                                 std::size_t end) {
  const GemmType type = gemm_type(data_.precision);
  const std::size_t in = data_.in, kp = gemm_padded_k(type, in);
  GemmArgs g;
  g.type = type;
  g.rows = rows;
  g.n = data_.out;
  g.k = in;
  g.lda = kp;
  g.packed = senti_weights_.data();
  g.y = y;
  g.ldy = ldy;
  g.bias = data_.bias.data();
  g.activation = gemm_activation(activation_);
  {
    StageTimer timer(Stage::kConvert);
    switch (data_.precision) {
      case Precision::kFp32:
        if (kp == in) {
          g.a = x;
        } else {
          if (padded_input_.size() < rows * kp) padded_input_.resize(rows * kp);
          for (std::size_t r = 0; r < rows; ++r) {
            std::copy_n(x + r * in, in, padded_input_.begin() + static_cast<std::ptrdiff_t>(r * kp));
            std::fill_n(padded_input_.begin() + static_cast<std::ptrdiff_t>(r * kp + in), kp - in, 0.f);
          }
          g.a = padded_input_.data();
        }
        break;
      case Precision::kBf16:
        if (bf16_input_.size() < rows * kp) bf16_input_.resize(rows * kp);
        if (kp == in) {
          to_bf16(x, rows * in, bf16_input_.data());
        } else {
          for (std::size_t r = 0; r < rows; ++r) {
            to_bf16(x + r * in, in, bf16_input_.data() + r * kp);
            std::fill_n(bf16_input_.data() + r * kp + in, kp - in, bf16_bits(0.f));
          }
        }
        g.a = bf16_input_.data();
        break;
      case Precision::kInt8:
        if (u8_input_.size() < rows * kp) u8_input_.resize(rows * kp);
        if (row_scales_.size() < rows) row_scales_.resize(rows);
        if (kp == in) {
          quantize_rows_u8(x, rows, in, u8_input_.data(), row_scales_.data(), activation_limit_);
        } else {
          for (std::size_t r = 0; r < rows; ++r) {
            quantize_rows_u8(x + r * in, 1, in, u8_input_.data() + r * kp, row_scales_.data() + r, activation_limit_);
            std::fill_n(u8_input_.data() + r * kp + in, kp - in, static_cast<uint8_t>(activation_limit_ + 1));
          }
        }
        g.a = u8_input_.data();
        g.weight_scales = data_.weight_scales.data();
        g.compensation = compensation_.data();
        g.row_scales = row_scales_.data();
        g.activation_limit = activation_limit_;
        break;
    }
  }
  const double start = profiling_enabled() ? thread_cpu_seconds() : 0.0;
  {
    StageTimer timer(Stage::kMatmul);
    gemm_run(gemm_isa_, g, compute_threads(), begin, end);
  }
  if (profiling_enabled())
    profile_matmul(gemm_kernel_name(type, gemm_isa_), rows, end - begin, in, thread_cpu_seconds() - start);
}

std::size_t PackedLinear::release_onednn_weights() {
  if (!has_senti_kernel() || senti_max_rows_ != std::numeric_limits<std::size_t>::max() || owned_.size() == 0) return 0;
  const std::size_t bytes = owned_.size();
  weights_mem_ = memory();
  data_.weights = nullptr;
  owned_ = AlignedBytes();
  return bytes;
}

std::string PackedLinear::onednn_implementation() const {
  return make_pd(kLayoutQueryRows, data_.weights_desc).impl_info_str();
}

std::string PackedLinear::implementation() const {
  if (!has_senti_kernel() || senti_max_rows_ == 0) return onednn_implementation();
  const std::string senti = gemm_kernel_name(gemm_type(data_.precision), gemm_isa_);
  if (senti_max_rows_ == std::numeric_limits<std::size_t>::max()) return senti;
  return senti + " up to " + std::to_string(senti_max_rows_) + " rows, then " + onednn_implementation();
}

PackedLinear::Plan& PackedLinear::plan_for(std::size_t rows) {
  auto it = plans_.find(rows);
  if (it != plans_.end()) return it->second;
  if (plans_.size() >= kMaxCachedShapes) plans_.clear();
  const auto pd = make_pd(rows, data_.weights_desc);
  Plan plan{dnnl::matmul(pd), memory(pd.src_desc(), engine_, nullptr), memory(pd.dst_desc(), engine_, nullptr)};
  return plans_.emplace(rows, std::move(plan)).first->second;
}

PackedLinear::Plan* PackedLinear::any_rows_plan(std::size_t rows) {
  if (any_rows_state_ == AnyRows::kUnknown) {
    any_rows_state_ = AnyRows::kNo;
    const char* off = std::getenv("SENTI_ONEDNN_ANY_ROWS");
    if (off == nullptr || std::string_view(off) != "0") {
      try {
        const auto pd = make_pd(0, data_.weights_desc);
        if (pd.impl_info_str() == onednn_implementation()) {
          any_rows_.matmul = dnnl::matmul(pd);
          any_rows_state_ = AnyRows::kYes;
        }
      } catch (const dnnl::error&) {
        // no runtime-row primitive for this layout: fixed shapes
      }
    }
  }
  if (any_rows_state_ != AnyRows::kYes) return nullptr;
  if (!any_rows_.src || any_rows_.src.get_desc().dims()[0] != dim(rows)) {
    const Precision p = data_.precision;
    any_rows_.src = memory({{dim(rows), dim(data_.in)}, source_type(p), memory::format_tag::ab}, engine_, nullptr);
    any_rows_.dst = memory({{dim(rows), dim(data_.out)}, p == Precision::kInt8 ? dt::s32 : dt::f32, memory::format_tag::ab},
                           engine_, nullptr);
  }
  return &any_rows_;
}

std::size_t PackedLinear::padded_rows(std::size_t rows) {
  const std::size_t step = rows <= 64 ? 16 : rows <= 256 ? 32 : rows <= 1024 ? 64 : 256;
  return (rows + step - 1) / step * step;
}

void PackedLinear::forward(dnnl::stream& stream, const float* x, std::size_t rows, float* y, bool pad_rows) {
  if (rows == 0) return;
  if (rows <= senti_max_rows_) return forward_senti(x, rows, y, data_.out, 0, data_.out);
  const double profile_start = profiling_enabled() ? thread_cpu_seconds() : 0.0;
  Plan& plan = [&]() -> Plan& {
    StageTimer timer(Stage::kMatmul);  // primitive creation (first call per row count) counts as matmul
    if (Plan* exact = any_rows_plan(rows)) return *exact;
    if (pad_rows) rows = padded_rows(rows);
    return plan_for(rows);
  }();
  const std::size_t inputs = rows * data_.in;
  switch (data_.precision) {
    case Precision::kFp32:
      plan.src.set_data_handle(const_cast<float*>(x));
      break;
    case Precision::kBf16: {
      StageTimer timer(Stage::kConvert);
      if (bf16_input_.size() < inputs) bf16_input_.resize(inputs);
      to_bf16(x, inputs, bf16_input_.data());
      plan.src.set_data_handle(bf16_input_.data());
      break;
    }
    case Precision::kInt8: {
      StageTimer timer(Stage::kConvert);
      if (u8_input_.size() < inputs) u8_input_.resize(inputs);
      if (row_scales_.size() < rows) row_scales_.resize(rows);
      quantize_rows_u8(x, rows, data_.in, u8_input_.data(), row_scales_.data(), activation_limit_);
      plan.src.set_data_handle(u8_input_.data());
      break;
    }
  }
  if (data_.precision == Precision::kInt8) {
    if (s32_output_.size() < rows * data_.out) s32_output_.resize(rows * data_.out);
    plan.dst.set_data_handle(s32_output_.data());
    {
      StageTimer timer(Stage::kMatmul);
      const SpinPause pause;  // oneDNN's OpenMP threads need the cores
      plan.matmul.execute(stream, {{DNNL_ARG_SRC, plan.src}, {DNNL_ARG_WEIGHTS, weights_mem_}, {DNNL_ARG_DST, plan.dst}});
    }
    StageTimer timer(Stage::kDequantize);
    dequantize_s32_rows(s32_output_.data(), y, rows, data_.out, data_.weight_scales.data(), compensation_.data(),
                        row_scales_.data(), data_.bias.data(), activation_ == Activation::kGeluErf);
    if (activation_ == Activation::kTanh)
#pragma omp simd
      for (std::size_t i = 0; i < rows * data_.out; ++i) y[i] = fast_tanh(y[i]);
  } else {
    plan.dst.set_data_handle(y);
    StageTimer timer(Stage::kMatmul);
    const SpinPause pause;  // oneDNN's OpenMP threads need the cores
    plan.matmul.execute(stream, {{DNNL_ARG_SRC, plan.src},
                                 {DNNL_ARG_WEIGHTS, weights_mem_},
                                 {DNNL_ARG_BIAS, bias_mem_},
                                 {DNNL_ARG_DST, plan.dst}});
  }
  if (profiling_enabled()) {
    stream.wait();
    if (onednn_name_.empty())
      onednn_name_ = "onednn-" + std::string(precision_name(data_.precision)) + "-" + onednn_implementation();
    profile_matmul(onednn_name_, rows, data_.out, data_.in, thread_cpu_seconds() - profile_start);
  }
}

}  // namespace senti::cpu
