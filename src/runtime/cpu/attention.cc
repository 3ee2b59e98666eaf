#include "runtime/cpu/attention.h"

#include <algorithm>
#include <cmath>

#include "runtime/cpu/softmax.h"

namespace senti::cpu {
namespace {

using dnnl::memory;
constexpr std::size_t kMaxCachedLengths = 512;

memory::dim dim(std::size_t v) { return static_cast<memory::dim>(v); }

struct Descs {
  memory::desc q, k_t, v, scores, context;
};

// Views of one sequence's rows as [heads, L, head_dim] (and Kᵀ as [heads, head_dim, L]) without copies;
// q, k and v rows are 3·hidden apart (fused QKV output), context rows hidden apart.
Descs make_descs(std::size_t heads, std::size_t length, std::size_t head_dim, std::size_t hidden) {
  const auto h = dim(heads), l = dim(length), d = dim(head_dim), row = dim(3 * hidden), out = dim(hidden);
  const auto f32 = memory::data_type::f32;
  return Descs{
      memory::desc({h, l, d}, f32, memory::dims{d, row, 1}),
      memory::desc({h, d, l}, f32, memory::dims{d, 1, row}),
      memory::desc({h, l, d}, f32, memory::dims{d, row, 1}),
      memory::desc({h, l, l}, f32, memory::format_tag::abc),
      memory::desc({h, l, d}, f32, memory::dims{d, out, 1}),
  };
}

}  // namespace

PackedAttention::PackedAttention(const dnnl::engine& engine, std::size_t num_heads, std::size_t head_dim)
    : engine_(engine),
      heads_(num_heads),
      head_dim_(head_dim),
      hidden_(num_heads * head_dim),
      scale_(1.f / std::sqrt(static_cast<float>(head_dim))) {}

const PackedAttention::Kernels& PackedAttention::kernels_for(std::size_t length) {
  auto it = kernels_.find(length);
  if (it != kernels_.end()) return it->second;
  if (kernels_.size() >= kMaxCachedLengths) kernels_.clear();
  const Descs d = make_descs(heads_, length, head_dim_, hidden_);
  Kernels kernels{
      dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(d.q, d.k_t, d.scores), engine_)),
      dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(d.scores, d.v, d.context), engine_)),
  };
  return kernels_.emplace(length, std::move(kernels)).first->second;
}

void PackedAttention::forward(dnnl::stream& stream, const float* qkv, const std::vector<std::size_t>& offsets,
                              float* context) {
  const float* q = qkv;
  const float* k = qkv + hidden_;
  const float* v = qkv + 2 * hidden_;
  for (std::size_t s = 0; s + 1 < offsets.size(); ++s) {
    const std::size_t begin = offsets[s], length = offsets[s + 1] - begin;
    if (length == 0) continue;
    const Kernels& kernels = kernels_for(length);
    const Descs d = make_descs(heads_, length, head_dim_, hidden_);
    const std::size_t score_count = heads_ * length * length;
    if (probabilities_.size() < score_count) probabilities_.resize(score_count);

    const std::size_t row0 = begin * 3 * hidden_;
    memory q_mem(d.q, engine_, const_cast<float*>(q + row0));
    memory k_mem(d.k_t, engine_, const_cast<float*>(k + row0));
    memory v_mem(d.v, engine_, const_cast<float*>(v + row0));
    memory p_mem(d.scores, engine_, probabilities_.data());
    memory ctx_mem(d.context, engine_, context + begin * hidden_);

    kernels.scores.execute(stream, {{DNNL_ARG_SRC, q_mem}, {DNNL_ARG_WEIGHTS, k_mem}, {DNNL_ARG_DST, p_mem}});
    scaled_softmax_rows(probabilities_.data(), heads_ * length, length, scale_);
    kernels.context.execute(stream, {{DNNL_ARG_SRC, p_mem}, {DNNL_ARG_WEIGHTS, v_mem}, {DNNL_ARG_DST, ctx_mem}});
  }
}

}  // namespace senti::cpu
