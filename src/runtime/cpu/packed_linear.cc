#include "runtime/cpu/packed_linear.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <new>

#include "runtime/cpu/activation_kernels.h"
#include "runtime/cpu/profile.h"
#include "senti/error.h"

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
int8_t weight_limit() {
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  const bool vnni = isa == dnnl::cpu_isa::avx512_core_vnni || isa == dnnl::cpu_isa::avx512_core_bf16 ||
                    isa == dnnl::cpu_isa::avx512_core_amx;
  return vnni ? 127 : 63;
}

}  // namespace

AlignedBytes::AlignedBytes(std::size_t size) : size_(size) {
  const std::size_t rounded = (size + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (p == nullptr) throw std::bad_alloc();
  data_.reset(static_cast<std::byte*>(p));
}

void AlignedBytes::Free::operator()(std::byte* p) const noexcept { std::free(p); }

PackedLinear::PackedLinear(PackedLinear&&) noexcept = default;
PackedLinear& PackedLinear::operator=(PackedLinear&&) noexcept = default;
PackedLinear::~PackedLinear() = default;

dnnl::matmul::primitive_desc PackedLinear::make_pd(std::size_t rows, const memory::desc& weights) const {
  const Precision p = data_.precision;
  const memory::desc src({dim(rows), dim(data_.in)}, source_type(p), memory::format_tag::ab);
  const memory::desc dst({dim(rows), dim(data_.out)}, dt::f32, memory::format_tag::ab);
  const memory::desc row_vector({1, dim(data_.out)}, dt::f32, memory::format_tag::ab);
  dnnl::primitive_attr attr;
  dnnl::post_ops ops;
  if (p == Precision::kInt8) {
    // dst = scale[n] · Σ_k (q + 128)·W + compensation[n] = scale[n] · Σ_k q·W; the per-token
    // scale, bias and activation follow in dequantize_rows (oneDNN 2.6's brgemm kernel takes no
    // per-row scales).
    attr.set_output_scales(2, data_.weight_scales);
    ops.append_binary(dnnl::algorithm::binary_add, row_vector);
    attr.set_post_ops(ops);
    return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weights, dst), attr, engine_);
  }
  if (activation_ == Activation::kGeluErf) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_gelu_erf, 0.f, 0.f);
  if (activation_ == Activation::kTanh) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_tanh, 0.f, 0.f);
  attr.set_post_ops(ops);
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weights, row_vector, dst), attr, engine_);
}

namespace {

dnnl::memory::desc preferred_layout(const std::function<dnnl::matmul::primitive_desc()>& make, Precision precision) {
  try {
    return make().weights_desc();
  } catch (const dnnl::error& e) {
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
  if (precision == Precision::kInt8) {
    // Per-output-channel symmetric scales: row n of W is scaled by max|W[n, :]| / limit.
    const float limit = weight_limit();
    data_.weight_limit = static_cast<int>(limit);
    std::vector<int8_t> quantized(out * in);
    data_.weight_scales.resize(out);
    data_.compensation.resize(out);
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
      data_.weight_scales[n] = scale;
      data_.compensation[n] = -128.f * scale * static_cast<float>(sum);
    }
    data_.weights_desc = preferred_layout([&] { return make_pd(kLayoutQueryRows, any); }, precision);
    owned_ = AlignedBytes(data_.weights_desc.get_size());
    reorder_into(engine_, transposed_view(out, in, dt::s8), quantized.data(), data_.weights_desc, owned_.data());
  } else {
    data_.weights_desc = preferred_layout([&] { return make_pd(kLayoutQueryRows, any); }, precision);
    owned_ = AlignedBytes(data_.weights_desc.get_size());
    reorder_into(engine_, transposed_view(out, in, dt::f32), weight, data_.weights_desc, owned_.data());
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
  const memory::desc wanted = preferred_layout([&] { return make_pd(kLayoutQueryRows, any); }, data_.precision);
  if (wanted != data_.weights_desc) {
    owned_ = AlignedBytes(wanted.get_size());
    reorder_into(engine_, data_.weights_desc, data_.weights, wanted, owned_.data());
    data_.weights_desc = wanted;
    data_.weights = owned_.data();
    repacked_ = true;
  }
  finish_init();
}

void PackedLinear::finish_init() {
  weights_mem_ = memory(data_.weights_desc, engine_, const_cast<std::byte*>(data_.weights));
  const memory::desc row_vector({1, dim(data_.out)}, dt::f32, memory::format_tag::ab);
  bias_mem_ = memory(row_vector, engine_, data_.bias.data());
  if (data_.precision == Precision::kInt8) compensation_mem_ = memory(row_vector, engine_, data_.compensation.data());
}

std::string PackedLinear::implementation() const {
  return make_pd(kLayoutQueryRows, data_.weights_desc).impl_info_str();
}

PackedLinear::Plan& PackedLinear::plan_for(std::size_t rows) {
  auto it = plans_.find(rows);
  if (it != plans_.end()) return it->second;
  if (plans_.size() >= kMaxCachedShapes) plans_.clear();
  const auto pd = make_pd(rows, data_.weights_desc);
  Plan plan{dnnl::matmul(pd), memory(pd.src_desc(), engine_, nullptr), memory(pd.dst_desc(), engine_, nullptr)};
  return plans_.emplace(rows, std::move(plan)).first->second;
}

std::size_t PackedLinear::padded_rows(std::size_t rows) {
  const std::size_t step = rows <= 64 ? 16 : rows <= 256 ? 32 : rows <= 1024 ? 64 : 256;
  return (rows + step - 1) / step * step;
}

void PackedLinear::forward(dnnl::stream& stream, const float* x, std::size_t rows, float* y, bool pad_rows) {
  if (rows == 0) return;
  if (pad_rows) rows = padded_rows(rows);
  Plan& plan = [&]() -> Plan& {
    StageTimer timer(Stage::kMatmul);  // primitive creation (first call per row count) counts as matmul
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
      quantize_rows_u8(x, rows, data_.in, u8_input_.data(), row_scales_.data());
      plan.src.set_data_handle(u8_input_.data());
      break;
    }
  }
  plan.dst.set_data_handle(y);
  if (data_.precision == Precision::kInt8) {
    {
      StageTimer timer(Stage::kMatmul);
      plan.matmul.execute(stream, {{DNNL_ARG_SRC, plan.src},
                                   {DNNL_ARG_WEIGHTS, weights_mem_},
                                   {DNNL_ARG_DST, plan.dst},
                                   {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, compensation_mem_}});
    }
    StageTimer timer(Stage::kDequantize);
    dequantize_rows(y, rows, data_.out, row_scales_.data(), data_.bias.data(), activation_ == Activation::kGeluErf);
    if (activation_ == Activation::kTanh)
      for (std::size_t i = 0; i < rows * data_.out; ++i) y[i] = std::tanh(y[i]);
  } else {
    StageTimer timer(Stage::kMatmul);
    plan.matmul.execute(stream, {{DNNL_ARG_SRC, plan.src},
                                 {DNNL_ARG_WEIGHTS, weights_mem_},
                                 {DNNL_ARG_BIAS, bias_mem_},
                                 {DNNL_ARG_DST, plan.dst}});
  }
}

}  // namespace senti::cpu
