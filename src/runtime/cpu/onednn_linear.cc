#include "runtime/cpu/onednn_linear.h"

namespace senti::cpu {
namespace {

using dnnl::memory;
constexpr std::size_t kMaxCachedShapes = 512;

memory::dim dim(std::size_t v) { return static_cast<memory::dim>(v); }

}  // namespace

OneDnnLinear::OneDnnLinear(const dnnl::engine& engine, const LinearWeights& weights, Activation activation)
    : engine_(engine),
      weight_(weights.weight.data),
      bias_(weights.bias.data),
      in_(weights.weight.shape.at(1)),
      out_(weights.weight.shape.at(0)),
      activation_(activation) {}

const dnnl::matmul& OneDnnLinear::primitive_for(std::size_t rows) {
  auto it = primitives_.find(rows);
  if (it != primitives_.end()) return it->second;
  if (primitives_.size() >= kMaxCachedShapes) primitives_.clear();

  const memory::desc src({dim(rows), dim(in_)}, memory::data_type::f32, memory::format_tag::ab);
  // The [out, in] row-major weight viewed as a [in, out] matrix: strides {1, in}.
  const memory::desc weights({dim(in_), dim(out_)}, memory::data_type::f32, memory::dims{1, dim(in_)});
  const memory::desc bias({1, dim(out_)}, memory::data_type::f32, memory::format_tag::ab);
  const memory::desc dst({dim(rows), dim(out_)}, memory::data_type::f32, memory::format_tag::ab);

  dnnl::post_ops ops;
  if (activation_ == Activation::kGeluErf) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_gelu_erf, 0.f, 0.f);
  if (activation_ == Activation::kTanh) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_tanh, 0.f, 0.f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);

  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, weights, bias, dst), attr, engine_);
  return primitives_.emplace(rows, dnnl::matmul(pd)).first->second;
}

void OneDnnLinear::forward(dnnl::stream& stream, const float* x, std::size_t rows, float* y) {
  if (rows == 0) return;
  const auto& matmul = primitive_for(rows);
  const memory::desc src_md({dim(rows), dim(in_)}, memory::data_type::f32, memory::format_tag::ab);
  const memory::desc w_md({dim(in_), dim(out_)}, memory::data_type::f32, memory::dims{1, dim(in_)});
  const memory::desc b_md({1, dim(out_)}, memory::data_type::f32, memory::format_tag::ab);
  const memory::desc dst_md({dim(rows), dim(out_)}, memory::data_type::f32, memory::format_tag::ab);
  // oneDNN takes non-const handles; it only reads src, weights and bias.
  memory src(src_md, engine_, const_cast<float*>(x));
  memory w(w_md, engine_, const_cast<float*>(weight_));
  memory b(b_md, engine_, const_cast<float*>(bias_));
  memory dst(dst_md, engine_, y);
  matmul.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, dst}});
}

}  // namespace senti::cpu
