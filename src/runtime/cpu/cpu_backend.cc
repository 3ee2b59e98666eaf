#include "runtime/cpu/cpu_backend.h"

#include <algorithm>
#include <cstring>

#include <omp.h>

#include "runtime/cpu/norm_kernels.h"

namespace senti::cpu {

CpuBackend::CpuBackend(const Checkpoint& checkpoint, const BackendOptions& options)
    : config_(checkpoint.config()),
      weights_(checkpoint.weights()),
      engine_(dnnl::engine::kind::cpu, 0),
      stream_(engine_),
      pooler_(engine_, weights_.pooler, Activation::kTanh),
      classifier_(engine_, weights_.classifier, Activation::kNone),
      attention_(engine_, config_.num_attention_heads, config_.head_dim()) {
  if (options.num_threads > 0) omp_set_num_threads(options.num_threads);
  layers_.reserve(weights_.layers.size());
  for (const auto& w : weights_.layers) {
    layers_.push_back(Layer{
        OneDnnLinear(engine_, w.query, Activation::kNone),
        OneDnnLinear(engine_, w.key, Activation::kNone),
        OneDnnLinear(engine_, w.value, Activation::kNone),
        OneDnnLinear(engine_, w.attention_output, Activation::kNone),
        OneDnnLinear(engine_, w.intermediate, Activation::kGeluErf),
        OneDnnLinear(engine_, w.output, Activation::kNone),
        &w,
    });
  }
}

void CpuBackend::ensure_capacity(std::size_t tokens, std::size_t sequences) {
  const std::size_t h = config_.hidden_size;
  auto grow = [](std::vector<float>& buffer, std::size_t n) {
    if (buffer.size() < n) buffer.resize(n);
  };
  for (auto* buffer : {&hidden_, &q_, &k_, &v_, &context_, &projected_}) grow(*buffer, tokens * h);
  grow(intermediate_, tokens * config_.intermediate_size);
  grow(cls_, sequences * h);
  grow(pooled_, sequences * h);
  if (positions_.size() < tokens) positions_.resize(tokens);
}

void CpuBackend::forward(const PackedBatch& batch, float* logits) {
  const std::size_t tokens = batch.num_tokens(), sequences = batch.num_sequences();
  const std::size_t h = config_.hidden_size;
  const float eps = config_.layer_norm_eps;
  if (sequences == 0) return;
  ensure_capacity(tokens, sequences);

  for (std::size_t s = 0; s < sequences; ++s)
    for (std::size_t t = batch.offsets[s]; t < batch.offsets[s + 1]; ++t) positions_[t] = t - batch.offsets[s];
  embed_and_normalize(weights_, batch.input_ids.data(), batch.token_type_ids.data(), positions_.data(), tokens, h,
                      eps, hidden_.data());

  for (auto& layer : layers_) {
    layer.query.forward(stream_, hidden_.data(), tokens, q_.data());
    layer.key.forward(stream_, hidden_.data(), tokens, k_.data());
    layer.value.forward(stream_, hidden_.data(), tokens, v_.data());
    attention_.forward(stream_, q_.data(), k_.data(), v_.data(), batch.offsets, context_.data());
    layer.attention_output.forward(stream_, context_.data(), tokens, projected_.data());
    add_and_normalize(hidden_.data(), projected_.data(), layer.weights->attention_norm, tokens, h, eps);
    layer.intermediate.forward(stream_, hidden_.data(), tokens, intermediate_.data());
    layer.output.forward(stream_, intermediate_.data(), tokens, projected_.data());
    add_and_normalize(hidden_.data(), projected_.data(), layer.weights->output_norm, tokens, h, eps);
  }

  // Pooler reads each sequence's first token ([CLS]).
  for (std::size_t s = 0; s < sequences; ++s)
    std::memcpy(cls_.data() + s * h, hidden_.data() + batch.offsets[s] * h, h * sizeof(float));
  pooler_.forward(stream_, cls_.data(), sequences, pooled_.data());
  classifier_.forward(stream_, pooled_.data(), sequences, logits);
  stream_.wait();
}

}  // namespace senti::cpu

namespace senti {

std::unique_ptr<Backend> make_cpu_backend(const Checkpoint& checkpoint, const BackendOptions& options) {
  return std::make_unique<cpu::CpuBackend>(checkpoint, options);
}

}  // namespace senti
