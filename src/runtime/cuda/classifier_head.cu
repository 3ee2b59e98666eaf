// Pooler (dense + tanh on [CLS]) + classifier + softmax, one block per sequence, fp32 throughout (as on
// the CPU: these run once per sequence and decide the label). A warp per output row reads the weight
// row coalesced.
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/device_util.cuh"

namespace senti::cuda {
namespace {

constexpr unsigned kThreads = 256;

__global__ void __launch_bounds__(kThreads)
    classifier_head_kernel(const float* hidden, const int32_t* cls_rows, std::size_t width, const float* wp,
                           const float* bp, const float* wc, const float* bc, std::size_t labels, float* logits,
                           float* probabilities) {
  extern __shared__ float shared[];
  float* x = shared;               // [width]
  float* pooled = shared + width;  // [width]
  float* out = pooled + width;     // [labels]
  const std::size_t s = blockIdx.x;
  const float* cls = hidden + static_cast<std::size_t>(cls_rows[s]) * width;
  for (std::size_t c = threadIdx.x; c < width; c += blockDim.x) x[c] = cls[c];
  __syncthreads();
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  for (std::size_t j = warp; j < width; j += warps) {
    float sum = 0.f;
    for (std::size_t c = lane; c < width; c += 32) sum += wp[j * width + c] * x[c];
    sum = warp_sum(sum);
    if (lane == 0) pooled[j] = tanhf(sum + bp[j]);
  }
  __syncthreads();
  for (std::size_t j = warp; j < labels; j += warps) {
    float sum = 0.f;
    for (std::size_t c = lane; c < width; c += 32) sum += wc[j * width + c] * pooled[c];
    sum = warp_sum(sum);
    if (lane == 0) out[j] = sum + bc[j];
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    float max = out[0];
    for (std::size_t j = 1; j < labels; ++j) max = fmaxf(max, out[j]);
    float total = 0.f;
    for (std::size_t j = 0; j < labels; ++j) total += expf(out[j] - max);
    for (std::size_t j = 0; j < labels; ++j) {
      logits[s * labels + j] = out[j];
      probabilities[s * labels + j] = expf(out[j] - max) / total;
    }
  }
}

}  // namespace

void classifier_head(const float* hidden, const int32_t* cls_rows, std::size_t sequences, std::size_t hidden_size,
                     const float* pooler_weight, const float* pooler_bias, const float* classifier_weight,
                     const float* classifier_bias, std::size_t labels, float* logits, float* probabilities,
                     cudaStream_t stream) {
  if (sequences == 0) return;
  const std::size_t shared = (2 * hidden_size + labels) * sizeof(float);
  classifier_head_kernel<<<static_cast<unsigned>(sequences), kThreads, shared, stream>>>(
      hidden, cls_rows, hidden_size, pooler_weight, pooler_bias, classifier_weight, classifier_bias, labels, logits,
      probabilities);
  SENTI_CUDA_CHECK_LAUNCH();
}

}  // namespace senti::cuda
