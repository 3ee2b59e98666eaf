#include "runtime/cuda/cuda_backend.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "runtime/cuda/cuda_check.h"
#include "senti/error.h"

namespace senti::cuda {
namespace {

constexpr std::size_t kWorkspaceBytes = 32u << 20;  // cuBLASLt's workspace (its recommendation on Hopper)

std::vector<float> to_vector(const TensorRef& t) { return std::vector<float>(t.data, t.data + t.numel()); }

// [3h, h] query | key | value, and [3h] biases: the fused QKV projection.
std::vector<float> concat(const TensorRef& a, const TensorRef& b, const TensorRef& c) {
  std::vector<float> out;
  out.reserve(a.numel() + b.numel() + c.numel());
  for (const TensorRef* t : {&a, &b, &c}) out.insert(out.end(), t->data, t->data + t->numel());
  return out;
}

}  // namespace

DeviceBuffer<unsigned char> CudaBackend::upload(const std::vector<float>& host, DType type) {
  DeviceBuffer<unsigned char> out(host.size() * dtype_size(type));
  if (type == DType::kF32) {
    SENTI_CUDA_CHECK(cudaMemcpy(out.get(), host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
    return out;
  }
  DeviceBuffer<float> staging(host.size());
  SENTI_CUDA_CHECK(cudaMemcpy(staging.get(), host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
  convert_from_f32(staging.get(), out.get(), type, host.size(), stream_);
  SENTI_CUDA_CHECK(cudaStreamSynchronize(stream_));
  return out;
}

DeviceBuffer<float> CudaBackend::upload_f32(const TensorRef& tensor) {
  DeviceBuffer<float> out(tensor.numel());
  SENTI_CUDA_CHECK(cudaMemcpy(out.get(), tensor.data, tensor.numel() * sizeof(float), cudaMemcpyHostToDevice));
  return out;
}

CudaBackend::CudaBackend(const Checkpoint& checkpoint, const CudaEngineOptions& options)
    : config_(checkpoint.config()), options_(options) {
  const std::size_t h = config_.hidden_size, inter = config_.intermediate_size, labels = config_.num_labels();
  if (!attention_supports_head_dim(config_.head_dim())) {
    throw ModelError(checkpoint.directory().string() + ": head size " + std::to_string(config_.head_dim()) +
                     " (hidden_size / num_attention_heads) is not supported by the CUDA backend (32, 64 or 128); "
                     "use --device cpu");
  }
  SENTI_CUDA_CHECK(cudaSetDevice(options_.device));
  cudaDeviceProp props{};
  SENTI_CUDA_CHECK(cudaGetDeviceProperties(&props, options_.device));
  if (options_.precision == DType::kBF16 && props.major < 8) {
    throw ModelError(std::string("bf16 needs a GPU of compute capability 8.0 or newer; ") + props.name + " is " +
                     std::to_string(props.major) + "." + std::to_string(props.minor) + ": use fp16");
  }
  device_name_ = std::string(props.name) + ", sm_" + std::to_string(props.major * 10 + props.minor);
  SENTI_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  SENTI_CUDA_CHECK(cublasLtCreate(&lt_));
  queries_per_tile_ = attention_queries_per_tile(config_.head_dim());

  const BertWeights& w = checkpoint.weights();
  const DType t = options_.precision;
  word_ = upload_f32(w.word_embeddings);
  position_ = upload_f32(w.position_embeddings);
  token_type_ = upload_f32(w.token_type_embeddings);
  embedding_gamma_ = upload_f32(w.embedding_norm.gamma);
  embedding_beta_ = upload_f32(w.embedding_norm.beta);
  const Epilogue ffn = options_.exact_gelu ? Epilogue::kBias : Epilogue::kBiasGelu;
  for (const EncoderLayerWeights& lw : w.layers) {
    Layer layer;
    layer.qkv_weight = upload(concat(lw.query.weight, lw.key.weight, lw.value.weight), t);
    layer.qkv_bias = upload(concat(lw.query.bias, lw.key.bias, lw.value.bias), t);
    layer.attention_output_weight = upload(to_vector(lw.attention_output.weight), t);
    layer.attention_output_bias = upload(to_vector(lw.attention_output.bias), DType::kF32);
    layer.intermediate_weight = upload(to_vector(lw.intermediate.weight), t);
    layer.intermediate_bias = upload(to_vector(lw.intermediate.bias), t);
    layer.output_weight = upload(to_vector(lw.output.weight), t);
    layer.output_bias = upload(to_vector(lw.output.bias), DType::kF32);
    layer.attention_norm_gamma = upload_f32(lw.attention_norm.gamma);
    layer.attention_norm_beta = upload_f32(lw.attention_norm.beta);
    layer.output_norm_gamma = upload_f32(lw.output_norm.gamma);
    layer.output_norm_beta = upload_f32(lw.output_norm.beta);
    // Outputs that feed the next GEMM or attention stay in the compute type; those added to the
    // residual stream are written in fp32.
    layer.linears.emplace_back(lt_, 3 * h, h, t, t, Epilogue::kBias, layer.qkv_weight.get(), layer.qkv_bias.get());
    layer.linears.emplace_back(lt_, h, h, t, DType::kF32, Epilogue::kBias, layer.attention_output_weight.get(),
                               layer.attention_output_bias.get());
    layer.linears.emplace_back(lt_, inter, h, t, t, ffn, layer.intermediate_weight.get(),
                               layer.intermediate_bias.get());
    layer.linears.emplace_back(lt_, h, inter, t, DType::kF32, Epilogue::kBias, layer.output_weight.get(),
                               layer.output_bias.get());
    layers_.push_back(std::move(layer));
  }
  pooler_weight_ = upload_f32(w.pooler.weight);
  pooler_bias_ = upload_f32(w.pooler.bias);
  classifier_weight_ = upload_f32(w.classifier.weight);
  classifier_bias_ = upload_f32(w.classifier.bias);

  const std::size_t tokens = options_.max_tokens, sequences = options_.max_sequences, size = dtype_size(t);
  hidden_ = DeviceBuffer<float>(tokens * h);
  delta_ = DeviceBuffer<float>(tokens * h);
  if (t != DType::kF32) hidden_typed_ = DeviceBuffer<unsigned char>(tokens * h * size);
  qkv_ = DeviceBuffer<unsigned char>(tokens * 3 * h * size);
  context_ = DeviceBuffer<unsigned char>(tokens * h * size);
  // Padding rows of the context are never written by attention: keep them finite.
  SENTI_CUDA_CHECK(cudaMemset(context_.get(), 0, context_.bytes()));
  intermediate_ = DeviceBuffer<unsigned char>(tokens * inter * size);
  logits_ = DeviceBuffer<float>(sequences * labels);
  probabilities_ = DeviceBuffer<float>(sequences * labels);
  const Bucket largest{tokens, sequences};
  BatchTable layout = table_layout(largest, queries_per_tile_);
  const std::size_t table_size = layout.tiles + 4 * layout.num_tiles_capacity;
  table_ = DeviceBuffer<int32_t>(table_size);
  host_table_ = PinnedBuffer<int32_t>(table_size);
  host_logits_ = PinnedBuffer<float>(sequences * labels);
  workspace_ = DeviceBuffer<unsigned char>(kWorkspaceBytes);
  SENTI_CUDA_CHECK(cudaDeviceSynchronize());
}

CudaBackend::~CudaBackend() {
  for (auto& [key, exec] : graphs_) cudaGraphExecDestroy(exec);
  if (lt_ != nullptr) cublasLtDestroy(lt_);
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

std::string CudaBackend::name() const {
  return std::string("cuda-") + dtype_name(options_.precision) + " (" + device_name_ + ", cuBLASLt" +
         (options_.exact_gelu ? ", erf GELU" : ", GELU epilogue") +
         (options_.use_graphs ? ", CUDA graphs" : ", no graphs") + ")";
}

void CudaBackend::enqueue(const Bucket& bucket, const BatchTable& layout) {
  const std::size_t h = config_.hidden_size, labels = config_.num_labels();
  const std::size_t rows = bucket.tokens;
  const float eps = config_.layer_norm_eps;
  const DType t = options_.precision;
  const bool typed = t != DType::kF32;
  void* hidden_typed = typed ? static_cast<void*>(hidden_typed_.get()) : nullptr;
  const void* gemm_input = typed ? static_cast<const void*>(hidden_typed_.get()) : hidden_.get();
  const std::size_t table_bytes = (layout.tiles + 4 * layout.num_tiles_capacity) * sizeof(int32_t);
  const int32_t* table = table_.get();

  SENTI_CUDA_CHECK(cudaMemcpyAsync(table_.get(), host_table_.get(), table_bytes, cudaMemcpyHostToDevice, stream_));
  embedding_layer_norm(word_.get(), position_.get(), token_type_.get(), embedding_gamma_.get(), embedding_beta_.get(),
                       table + layout.ids, table + layout.token_types, table + layout.positions, rows, h, eps,
                       hidden_.get(), hidden_typed, t, stream_);
  for (Layer& layer : layers_) {
    layer.linears[0].forward(gemm_input, rows, qkv_.get(), workspace_.get(), workspace_.bytes(), stream_);
    packed_attention(qkv_.get(), table + layout.tiles, layout.num_tiles_capacity, config_.num_attention_heads,
                     config_.head_dim(), context_.get(), t, stream_);
    layer.linears[1].forward(context_.get(), rows, delta_.get(), workspace_.get(), workspace_.bytes(), stream_);
    residual_layer_norm(hidden_.get(), delta_.get(), layer.attention_norm_gamma.get(), layer.attention_norm_beta.get(),
                        rows, h, eps, hidden_typed, t, stream_);
    layer.linears[2].forward(gemm_input, rows, intermediate_.get(), workspace_.get(), workspace_.bytes(), stream_);
    if (options_.exact_gelu) gelu_erf(intermediate_.get(), t, rows * config_.intermediate_size, stream_);
    layer.linears[3].forward(intermediate_.get(), rows, delta_.get(), workspace_.get(), workspace_.bytes(), stream_);
    residual_layer_norm(hidden_.get(), delta_.get(), layer.output_norm_gamma.get(), layer.output_norm_beta.get(), rows,
                        h, eps, hidden_typed, t, stream_);
  }
  classifier_head(hidden_.get(), table + layout.cls_rows, bucket.sequences, h, pooler_weight_.get(),
                  pooler_bias_.get(), classifier_weight_.get(), classifier_bias_.get(), labels, logits_.get(),
                  probabilities_.get(), stream_);
  SENTI_CUDA_CHECK(cudaMemcpyAsync(host_logits_.get(), logits_.get(), bucket.sequences * labels * sizeof(float),
                                   cudaMemcpyDeviceToHost, stream_));
}

void CudaBackend::forward(const PackedBatch& batch, float* logits) {
  const std::size_t sequences = batch.num_sequences(), labels = config_.num_labels();
  if (sequences == 0) return;
  // The service calls forward() from its engine thread, not the one that built the backend.
  SENTI_CUDA_CHECK(cudaSetDevice(options_.device));
  if (batch.num_tokens() <= options_.max_tokens && sequences <= options_.max_sequences) {
    forward_chunk(batch, logits);
    return;
  }
  // Too big for one forward: consecutive runs of sequences that fit.
  std::size_t first = 0;
  while (first < sequences) {
    PackedBatch chunk;
    std::size_t last = first;
    while (last < sequences && chunk.num_sequences() < options_.max_sequences &&
           (last == first || chunk.num_tokens() + batch.length(last) <= options_.max_tokens)) {
      const auto begin = static_cast<std::ptrdiff_t>(batch.offsets[last]);
      const auto end = static_cast<std::ptrdiff_t>(batch.offsets[last + 1]);
      chunk.input_ids.insert(chunk.input_ids.end(), batch.input_ids.begin() + begin, batch.input_ids.begin() + end);
      chunk.token_type_ids.insert(chunk.token_type_ids.end(), batch.token_type_ids.begin() + begin,
                                  batch.token_type_ids.begin() + end);
      chunk.offsets.push_back(chunk.input_ids.size());
      ++last;
    }
    forward_chunk(chunk, logits + first * labels);
    first = last;
  }
}

void CudaBackend::forward_chunk(const PackedBatch& batch, float* logits) {
  const std::size_t labels = config_.num_labels();
  if (batch.num_tokens() > options_.max_tokens) {
    throw InvalidInputError("a sequence of " + std::to_string(batch.num_tokens()) +
                            " tokens exceeds the CUDA engine's maximum of " + std::to_string(options_.max_tokens));
  }
  const Bucket bucket = choose_bucket(batch.num_tokens(), batch.num_sequences(), options_.max_tokens,
                                      options_.max_sequences);
  fill_table(batch, bucket, queries_per_tile_, plan_);
  std::memcpy(host_table_.get(), plan_.data.data(), plan_.data.size() * sizeof(int32_t));
  last_bucket_ = bucket;

  const auto key = std::make_pair(bucket.tokens, bucket.sequences);
  const auto graph = graphs_.find(key);
  if (options_.use_graphs && graph != graphs_.end()) {
    SENTI_CUDA_CHECK(cudaGraphLaunch(graph->second, stream_));
  } else {
    // Eager first (cuBLASLt picks its algorithms and kernels load outside any capture), then the
    // bucket is captured for the next batches of its shape.
    enqueue(bucket, plan_);
    SENTI_CUDA_CHECK(cudaStreamSynchronize(stream_));
    if (options_.use_graphs && graphs_.size() < options_.max_graphs) {
      cudaGraph_t captured = nullptr;
      SENTI_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
      try {
        enqueue(bucket, plan_);
      } catch (...) {
        cudaStreamEndCapture(stream_, &captured);
        if (captured != nullptr) cudaGraphDestroy(captured);
        cudaGetLastError();
        throw;
      }
      SENTI_CUDA_CHECK(cudaStreamEndCapture(stream_, &captured));
      cudaGraphExec_t exec = nullptr;
      const cudaError_t instantiated = cudaGraphInstantiate(&exec, captured, 0);
      cudaGraphDestroy(captured);
      SENTI_CUDA_CHECK(instantiated);
      graphs_.emplace(key, exec);
    }
  }
  SENTI_CUDA_CHECK(cudaStreamSynchronize(stream_));
  std::memcpy(logits, host_logits_.get(), batch.num_sequences() * labels * sizeof(float));
  last_sequences_ = batch.num_sequences();
}

std::vector<float> CudaBackend::last_probabilities() const {
  std::vector<float> out(last_sequences_ * config_.num_labels());
  SENTI_CUDA_CHECK(cudaMemcpy(out.data(), probabilities_.get(), out.size() * sizeof(float), cudaMemcpyDeviceToHost));
  return out;
}

std::unique_ptr<Backend> make_backend(const Checkpoint& checkpoint, const BackendOptions& options) {
  if (!availability().usable) throw ModelError("--device cuda: " + availability().reason);
  CudaEngineOptions engine;
  if (options.precision == "auto" || options.precision == "fp16") {
    engine.precision = DType::kF16;
  } else if (options.precision == "bf16") {
    engine.precision = DType::kBF16;
  } else if (options.precision == "fp32") {
    engine.precision = DType::kF32;
  } else {
    throw InvalidInputError("precision " + options.precision +
                            " is not implemented on CUDA: use fp16, bf16, fp32 or auto (fp16)");
  }
  const char* graphs = std::getenv("SENTI_CUDA_GRAPHS");
  engine.use_graphs = graphs == nullptr || std::string_view(graphs) != "0";
  const char* gelu = std::getenv("SENTI_CUDA_GELU");
  engine.exact_gelu = gelu != nullptr && std::string_view(gelu) == "erf";
  return std::make_unique<CudaBackend>(checkpoint, engine);
}

}  // namespace senti::cuda
