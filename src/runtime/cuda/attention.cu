// Fused multi-head self-attention over packed variable-length sequences: one launch for the whole
// batch, grid (tile, head). A tile is up to Q queries of one sequence (batch_plan.cc makes the table,
// as cu_seqlens would in flash-attention's varlen API); keys and values of that sequence stream through
// shared memory in chunks with an online softmax (running max and sum in fp32), so there is no
// padding and no [len, len] score matrix. head_dim / 32 threads share a query: thread g of a group
// owns dimensions g, g + G, g + 2G, ... (interleaved, so the group reads distinct shared-memory banks).
// Hand-written because cuBLAS has no variable-length batched attention and cuDNN's needs a padded layout.
#include "runtime/cuda/batch_plan.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/device_util.cuh"

namespace senti::cuda {
namespace {

constexpr int kThreads = 128;

template <typename T, int D>
__global__ void __launch_bounds__(kThreads) packed_attention_kernel(const T* __restrict__ qkv,
                                                                    const int4* __restrict__ tiles, int heads,
                                                                    float scale, T* __restrict__ context) {
  constexpr int G = D / 32;       // threads per query
  static_assert(kThreads % G == 0, "kThreads / G queries per tile");
  constexpr int K = 4096 / D;      // keys per shared-memory chunk: K * D floats each for keys and values
  __shared__ float keys[K * D];
  __shared__ float values[K * D];

  const int4 tile = tiles[blockIdx.x];  // seq_begin, seq_length, query_begin, query_count
  if (tile.y == 0) return;              // unused tile: the whole block leaves before any barrier
  const int head = static_cast<int>(blockIdx.y);
  const std::size_t hidden = static_cast<std::size_t>(heads) * D;
  const std::size_t stride = 3 * hidden;
  const int local = static_cast<int>(threadIdx.x) / G, g = static_cast<int>(threadIdx.x) % G;
  const bool active = local < tile.w;
  const std::size_t query_row = static_cast<std::size_t>(tile.x + tile.z + (active ? local : 0));

  float q[32], o[32];
#pragma unroll
  for (int i = 0; i < 32; ++i) {
    q[i] = active ? to_float(qkv[query_row * stride + static_cast<std::size_t>(head) * D + i * G + g]) * scale : 0.f;
    o[i] = 0.f;
  }
  float running_max = -INFINITY, running_sum = 0.f;

  for (int k0 = 0; k0 < tile.y; k0 += K) {
    const int n = min(K, tile.y - k0);
    __syncthreads();  // the previous chunk is no longer read
    for (int idx = static_cast<int>(threadIdx.x); idx < n * D; idx += kThreads) {
      const std::size_t row = static_cast<std::size_t>(tile.x + k0 + idx / D);
      const std::size_t col = static_cast<std::size_t>(head) * D + static_cast<std::size_t>(idx % D);
      keys[idx] = to_float(qkv[row * stride + hidden + col]);
      values[idx] = to_float(qkv[row * stride + 2 * hidden + col]);
    }
    __syncthreads();
    // Every thread runs the loop (inactive ones on zeros) so the group shuffles see full warps.
    for (int j = 0; j < n; ++j) {
      const float* key = keys + j * D;
      float s = 0.f;
#pragma unroll
      for (int i = 0; i < 32; ++i) s += q[i] * key[i * G + g];
      for (int offset = G / 2; offset > 0; offset /= 2) s += __shfl_xor_sync(0xffffffffu, s, offset);
      if (s > running_max) {
        const float correction = expf(running_max - s);  // exp(-inf) = 0 on the first key
        running_sum *= correction;
#pragma unroll
        for (int i = 0; i < 32; ++i) o[i] *= correction;
        running_max = s;
      }
      const float p = expf(s - running_max);
      running_sum += p;
      const float* value = values + j * D;
#pragma unroll
      for (int i = 0; i < 32; ++i) o[i] += p * value[i * G + g];
    }
  }
  if (!active) return;
  const float inverse = 1.f / running_sum;
  T* out = context + query_row * hidden + static_cast<std::size_t>(head) * D;
#pragma unroll
  for (int i = 0; i < 32; ++i) out[i * G + g] = from_float<T>(o[i] * inverse);
}

template <typename T, int D>
void launch(const void* qkv, const int32_t* tiles, std::size_t num_tiles, std::size_t heads, void* context,
            cudaStream_t stream) {
  static_assert(kThreads / (D / 32) == static_cast<int>(attention_queries_per_tile(D)));
  const dim3 grid(static_cast<unsigned>(num_tiles), static_cast<unsigned>(heads));
  const float scale = 1.f / sqrtf(static_cast<float>(D));
  packed_attention_kernel<T, D><<<grid, kThreads, 0, stream>>>(static_cast<const T*>(qkv),
                                                                reinterpret_cast<const int4*>(tiles),
                                                                static_cast<int>(heads), scale, static_cast<T*>(context));
}

}  // namespace

void packed_attention(const void* qkv, const int32_t* tiles, std::size_t num_tiles, std::size_t heads,
                      std::size_t head_dim, void* context, DType type, cudaStream_t stream) {
  if (num_tiles == 0) return;
  dispatch_dtype(type, [&](auto tag) {
    using T = decltype(tag);
    switch (head_dim) {
      case 32: launch<T, 32>(qkv, tiles, num_tiles, heads, context, stream); break;
      case 64: launch<T, 64>(qkv, tiles, num_tiles, heads, context, stream); break;
      case 128: launch<T, 128>(qkv, tiles, num_tiles, heads, context, stream); break;
      default: throw CudaError("packed_attention: head_dim " + std::to_string(head_dim) + " is not built (32, 64, 128)");
    }
  });
  SENTI_CUDA_CHECK_LAUNCH();
}

}  // namespace senti::cuda
