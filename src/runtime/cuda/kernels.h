// Launchers of senti's CUDA kernels, one .cu file each (CTranslate2 style). Activations of the encoder
// are stored as `DType` (fp32, fp16 or bf16); every reduction and all norm/softmax math is in fp32.
// All launchers enqueue on `stream` and check the launch; none synchronises.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace senti::cuda {

enum class DType { kF32, kF16, kBF16 };
std::size_t dtype_size(DType type);
const char* dtype_name(DType type);

// out[i] = convert(in[i]): fp32 weights to the compute type, once at load.
void convert_from_f32(const float* in, void* out, DType out_type, std::size_t count, cudaStream_t stream);
// out[i] = float(in[i]) (tests read typed activations back with it).
void convert_to_f32(const void* in, DType in_type, float* out, std::size_t count, cudaStream_t stream);

// embedding_layer_norm.cu: per token, LayerNorm(word[id] + position[pos] + token_type[type]). Writes
// the fp32 residual stream `out` and, when out_typed is not null, its copy in `typed` (the GEMM input).
void embedding_layer_norm(const float* word, const float* position, const float* token_type, const float* gamma,
                          const float* beta, const int32_t* ids, const int32_t* types, const int32_t* positions,
                          std::size_t tokens, std::size_t hidden, float eps, float* out, void* out_typed,
                          DType typed, cudaStream_t stream);

// layer_norm.cu: hidden = LayerNorm(hidden + delta) per row (two-pass: mean, then sum of squared
// deviations), in place; out_typed as above.
void residual_layer_norm(float* hidden, const float* delta, const float* gamma, const float* beta, std::size_t rows,
                         std::size_t width, float eps, void* out_typed, DType typed, cudaStream_t stream);

// gelu.cu: x = 0.5 x (1 + erf(x / sqrt 2)) in place (the exact GELU, when the GEMM epilogue's is not used).
void gelu_erf(void* x, DType type, std::size_t count, cudaStream_t stream);

// attention.cu: fused multi-head self-attention over packed sequences. qkv is [tokens, 3 * heads *
// head_dim] (query | key | value), context [tokens, heads * head_dim]; `tiles` holds num_tiles
// AttentionTile entries (batch_plan.h: 4 int32 each). One launch for the whole batch; tokens no tile
// covers are not touched. head_dim 32, 64 or 128.
void packed_attention(const void* qkv, const int32_t* tiles, std::size_t num_tiles, std::size_t heads,
                      std::size_t head_dim, void* context, DType type, cudaStream_t stream);

// classifier_head.cu: per sequence s, x = hidden[cls_rows[s]]; pooled = tanh(Wp x + bp); logits =
// Wc pooled + bc; probabilities = softmax(logits). Weights fp32, [out, in] row-major.
void classifier_head(const float* hidden, const int32_t* cls_rows, std::size_t sequences, std::size_t hidden_size,
                     const float* pooler_weight, const float* pooler_bias, const float* classifier_weight,
                     const float* classifier_bias, std::size_t labels, float* logits, float* probabilities,
                     cudaStream_t stream);

}  // namespace senti::cuda
