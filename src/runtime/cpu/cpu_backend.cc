#include "runtime/cpu/cpu_backend.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string_view>

#include <malloc.h>
#include <omp.h>

#include "model/compiled_file.h"
#include "runtime/cpu/compiled_cpu_model.h"
#include "runtime/cpu/compute_pool.h"
#include "runtime/cpu/fused_attention.h"
#include "runtime/cpu/kernel_isa.h"
#include "runtime/cpu/norm_kernels.h"
#include "runtime/cpu/profile.h"
#include "senti/error.h"

namespace senti::cpu {

CpuBackend::CpuBackend(const BertConfig& config, dnnl::engine engine, CpuModel model, const BackendOptions& options,
                       std::shared_ptr<const void> keep_alive)
    : config_(config),
      keep_alive_(std::move(keep_alive)),
      engine_(std::move(engine)),
      stream_(engine_),
      model_(std::move(model)),
      attention_(engine_, config_.num_attention_heads, config_.head_dim()) {
  num_threads_ = options.num_threads;
  if (num_threads_ > 0) omp_set_num_threads(num_threads_);
  // Primitives for the common short shapes are made now, not by the first requests of those sizes.
  for (std::size_t rows : {16, 32, 48, 64}) {
    for (auto& layer : model_.layers)
      for (PackedLinear* linear : {&layer.qkv, &layer.attention_output, &layer.intermediate, &layer.output})
        linear->prepare(rows);
  }
  for (auto& linear : model_.head) linear.prepare(1);
  // The head (pooler, classifier: one row per text) runs one kernel whatever the batch size, so a
  // text's logits never depend on its batch (senti's where it has one, which is also the faster at
  // these row counts).
  for (auto& linear : model_.head) linear.set_senti_max_rows(std::numeric_limits<std::size_t>::max());
  choose_senti_rows();
  // The FFN's second matmul takes GELU outputs, whose outliers make the AVX2 kernel's faster ±42
  // activation levels too coarse (rbt3-shaped synthetic model, largest logit error against fp32: 0.53
  // with ±63 everywhere, 0.86 with ±42 everywhere, 0.53 with ±63 here and ±42 elsewhere).
  for (auto& layer : model_.layers) layer.output.keep_activation_resolution();
  // An int8 pooler reads one row per text: bandwidth-bound, so the finer range costs nothing there
  // (and it halved the pooler's share of the error on the synthetic model: 0.587 -> 0.549 at ±63).
  model_.head[0].keep_activation_resolution();
  // Layers that run senti's kernel for every row count never read their oneDNN-layout weights.
  for (auto& layer : model_.layers)
    for (PackedLinear* linear : {&layer.qkv, &layer.attention_output, &layer.intermediate, &layer.output})
      linear->release_onednn_weights();
  for (auto& linear : model_.head) linear.release_onednn_weights();
  const char* attention = std::getenv("SENTI_ATTENTION");
  onednn_attention_ = attention != nullptr && std::string_view(attention) == "onednn";
}

// With SENTI_GEMM_ROWS=measure: senti's GEMM kernel against oneDNN's on this host, measured at load
// on the first layer's QKV matmul (best of 3 calls per kernel and row count, ~10-40 ms on a quiet
// machine): calls up to the largest row count at which senti's was the faster go to senti's kernel.
// Not the default: on a loaded machine the measured crossover swung from 8 to 128 rows between two
// loads, and a backend whose kernel choice (hence name) changes from load to load is hard to reason
// about; the default is the documented rule default_senti_max_rows (packed_linear.h).
void CpuBackend::choose_senti_rows() {
  if (model_.layers.empty() || !model_.layers.front().qkv.has_senti_kernel()) return;
  const char* mode = std::getenv("SENTI_GEMM_ROWS");
  if (std::getenv("SENTI_GEMM") != nullptr || mode == nullptr || std::string_view(mode) != "measure") return;
  PackedLinear& probe = model_.layers.front().qkv;
  constexpr std::size_t kMaxRows = 128;
  const std::size_t in = probe.data().in, out = probe.data().out;
  std::vector<float> x(kMaxRows * in), y(kMaxRows * out);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 2654435761u) % 2001) / 1000.f - 1.f;
  auto best_seconds = [&](std::size_t rows, std::size_t senti_rows) {
    probe.set_senti_max_rows(senti_rows);
    double best = 1e30;
    for (int i = 0; i < 3; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      probe.forward(stream_, x.data(), rows, y.data(), true);
      stream_.wait();
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
  };
  std::size_t senti_rows = 0;
  for (std::size_t rows : {8, 16, 32, 64, 128}) {
    if (best_seconds(rows, rows) > best_seconds(rows, 0)) break;
    senti_rows = rows;
  }
  for (auto& layer : model_.layers)
    for (PackedLinear* linear : {&layer.qkv, &layer.attention_output, &layer.intermediate, &layer.output})
      linear->set_senti_max_rows(senti_rows);
}

std::string CpuBackend::name() const {
  std::string matmul = model_.layers.empty() ? "none" : model_.layers.front().qkv.implementation();
  const bool repacked = !model_.layers.empty() && model_.layers.front().qkv.repacked();
  return std::string("cpu-") + precision_name(model_.precision) + " (matmul " + matmul + ", kernels " +
         kernel_isa_name(kernel_isa()) + (repacked ? ", weights re-packed for this CPU" : "") + ")";
}

void CpuBackend::ensure_capacity(std::size_t tokens, std::size_t sequences) {
  const std::size_t h = config_.hidden_size;
  auto grow = [](std::vector<float>& buffer, std::size_t n) {
    if (buffer.size() < n) buffer.resize(n);
  };
  for (auto* buffer : {&hidden_, &context_, &projected_}) grow(*buffer, tokens * h);
  grow(qkv_, tokens * 3 * h);
  grow(intermediate_, tokens * config_.intermediate_size);
  // The [CLS] rows go through the last layer's matmuls, whose int8 input quantization reads whole row blocks.
  grow(cls_, PackedLinear::padded_rows(sequences) * h);
  grow(cls_query_, sequences * h);
  grow(pooled_, sequences * h);
  if (positions_.size() < tokens) positions_.resize(tokens);
}

// The last layer's attention reads every token's key and value but only the [CLS] rows' queries: the
// keys and values (columns [h, 3h) of qkv_) are computed for every token, the queries (columns [0, h))
// for the [CLS] rows only, each value the same as the whole matmul's (an output column's arithmetic
// does not depend on the other columns or rows). rbt3 at ~18 tokens: 4% of the encoder's multiply-adds
// less; the seed sentences at batch 1, 1 thread, AVX2 host, alternating runs: int8 p50 4.05 -> 3.96 ms,
// fp32 9.28 -> 9.09 ms. Where senti's kernel does not run these rows, the whole matmul runs.
void CpuBackend::last_layer_qkv(PackedLinear& qkv, const PackedBatch& batch) {
  const std::size_t tokens = batch.num_tokens(), sequences = batch.num_sequences(), h = config_.hidden_size;
  float* cls_query = cls_query_.data();
  gather_cls_rows(batch);
  if (!qkv.forward_columns(hidden_.data(), tokens, qkv_.data(), 3 * h, h, 3 * h) ||
      !qkv.forward_columns(cls_.data(), sequences, cls_query, h, 0, h)) {
    qkv.forward(stream_, hidden_.data(), tokens, qkv_.data(), true);
    return;
  }
  for (std::size_t s = 0; s < sequences; ++s)
    std::memcpy(qkv_.data() + batch.offsets[s] * 3 * h, cls_query + s * h, h * sizeof(float));
}

// Each sequence's first row ([CLS]) of hidden_ into cls_: what the last layer carries on and the pooler reads.
void CpuBackend::gather_cls_rows(const PackedBatch& batch) {
  const std::size_t h = config_.hidden_size;
  for (std::size_t s = 0; s < batch.num_sequences(); ++s)
    std::memcpy(cls_.data() + s * h, hidden_.data() + batch.offsets[s] * h, h * sizeof(float));
}

void CpuBackend::forward(const PackedBatch& batch, float* logits) {
  const std::size_t tokens = batch.num_tokens(), sequences = batch.num_sequences();
  const std::size_t h = config_.hidden_size;
  const float eps = config_.layer_norm_eps;
  if (sequences == 0) return;
  if (num_threads_ > 0) omp_set_num_threads(num_threads_);
  const SpinScope spin;  // the pool's workers poll between this forward's parallel loops
  ensure_capacity(PackedLinear::padded_rows(tokens), sequences);

  {
    StageTimer timer(Stage::kEmbedding);
    for (std::size_t s = 0; s < sequences; ++s)
      for (std::size_t t = batch.offsets[s]; t < batch.offsets[s + 1]; ++t) positions_[t] = t - batch.offsets[s];
    embed_and_normalize(model_.tensors, batch.input_ids.data(), batch.token_type_ids.data(), positions_.data(),
                        tokens, h, eps, hidden_.data());
  }

  // The last layer computes only what the classifier head reads, each sequence's [CLS] row: its
  // attention query, output projection, FFN and norms run on `sequences` rows instead of `tokens`
  // (keys and values still cover every token). A row's arithmetic is the same either way.
  const bool cls_only_last = !onednn_attention_;
  for (std::size_t l = 0; l < model_.layers.size(); ++l) {
    auto& layer = model_.layers[l];
    const bool cls_only = cls_only_last && l + 1 == model_.layers.size();
    if (cls_only) {
      last_layer_qkv(layer.qkv, batch);
    } else {
      layer.qkv.forward(stream_, hidden_.data(), tokens, qkv_.data(), true);
    }
    {
      StageTimer timer(Stage::kAttention);
      if (onednn_attention_) {
        const SpinPause pause;  // per-head oneDNN matmuls (their OpenMP threads need the cores)
        attention_.forward(stream_, qkv_.data(), batch.offsets, context_.data());
      } else {
        fused_attention(qkv_.data(), batch.offsets.data(), sequences, config_.num_attention_heads,
                        config_.head_dim(), context_.data(), cls_only);
      }
    }
    // Rows this layer carries on: every token, or the [CLS] rows (gathered into cls_ by last_layer_qkv;
    // their attention outputs moved to context_'s first rows here).
    std::size_t rows = tokens;
    float* x = hidden_.data();
    if (cls_only) {
      for (std::size_t s = 0; s < sequences; ++s)
        if (s != batch.offsets[s])
          std::memcpy(context_.data() + s * h, context_.data() + batch.offsets[s] * h, h * sizeof(float));
      rows = sequences;
      x = cls_.data();
    }
    layer.attention_output.forward(stream_, context_.data(), rows, projected_.data(), true);
    {
      StageTimer timer(Stage::kNorm);
      add_and_normalize(x, projected_.data(), layer.attention_norm, rows, h, eps);
    }
    layer.intermediate.forward(stream_, x, rows, intermediate_.data(), true);
    layer.output.forward(stream_, intermediate_.data(), rows, projected_.data(), true);
    StageTimer timer(Stage::kNorm);
    add_and_normalize(x, projected_.data(), layer.output_norm, rows, h, eps);
  }
  StageTimer head_timer(Stage::kHead);

  // Pooler reads each sequence's first token ([CLS]).
  if (!cls_only_last || model_.layers.empty()) gather_cls_rows(batch);
  model_.head[0].forward(stream_, cls_.data(), sequences, pooled_.data());
  model_.head[1].forward(stream_, pooled_.data(), sequences, logits);
  stream_.wait();
}

}  // namespace senti::cpu

namespace senti {

std::unique_ptr<Backend> make_cpu_backend(const Checkpoint& checkpoint, const BackendOptions& options) {
  const CpuFeatures features = detect_cpu_features();
  const cpu::Precision precision = cpu::parse_precision(options.precision, features);
  if (!cpu::host_supports(precision, features)) {
    throw InvalidInputError(std::string("precision ") + cpu::precision_name(precision) +
                            " is not supported on this CPU (bf16 needs AVX512-BF16 or AMX-BF16); use fp32 or auto");
  }
  if (options.num_threads > 0) omp_set_num_threads(options.num_threads);
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  cpu::CpuModel model = cpu::pack_checkpoint(engine, checkpoint, precision);
  auto backend = std::make_unique<cpu::CpuBackend>(checkpoint.config(), engine, std::move(model), options);
#ifdef __GLIBC__
  // Packing freed its temporaries (transposed and quantised copies of every weight); glibc keeps such
  // freed heap pages resident unless asked to give them back.
  malloc_trim(0);
#endif
  return backend;
}

}  // namespace senti

namespace senti {

std::unique_ptr<Backend> make_cpu_backend(std::shared_ptr<const model::CompiledFile> file, const BertConfig& config,
                                          const BackendOptions& options) {
  const std::string compiled = file->metadata().value("precision", std::string("?"));
  if (options.precision != "auto" && options.precision != compiled) {
    throw InvalidInputError(file->path().string() + " was compiled for " + compiled + ", but precision " +
                            options.precision + " was asked for: recompile it (senti compile --precision " +
                            options.precision + ") or ask for auto");
  }
  if (options.num_threads > 0) omp_set_num_threads(options.num_threads);
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  cpu::CpuModel model = cpu::load_cpu_model(engine, *file, config);
  return std::make_unique<cpu::CpuBackend>(config, engine, std::move(model), options, std::move(file));
}

}  // namespace senti
