// The CUDA backend: the BERT encoder + pooler + classifier of cpu_backend.cc on one GPU. Weights are
// uploaded once; a forward is one host->device copy of a small int32 table (batch_plan.h), the kernels
// (cuBLASLt GEMMs with fused bias/GELU, kernels.h for the rest) and one device->host copy of the logits,
// all on the engine's own stream. Per (tokens, sequences) bucket the whole sequence is captured into a
// CUDA graph the first time the bucket is seen (after one eager run), so a batch of one text costs
// one graph launch.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/backend.h"
#include "runtime/cuda/batch_plan.h"
#include "runtime/cuda/cublaslt_linear.h"
#include "runtime/cuda/device_memory.h"
#include "runtime/cuda/kernels.h"
#include "senti/checkpoint.h"

namespace senti::cuda {

struct CudaEngineOptions {
  DType precision = DType::kF16;
  bool use_graphs = true;      // SENTI_CUDA_GRAPHS=0 turns them off
  bool exact_gelu = false;     // SENTI_CUDA_GELU=erf: bias epilogue + erf GELU kernel instead of GELU_BIAS
  std::size_t max_tokens = 16384;   // per forward (bigger batches are split by the caller)
  std::size_t max_sequences = 512;  // per forward (split here)
  std::size_t max_graphs = 64;      // buckets beyond this run eagerly
  int device = 0;
};

class CudaBackend final : public Backend {
 public:
  // Throws ModelError when the model has a shape the kernels do not support, CudaError on CUDA failures.
  CudaBackend(const Checkpoint& checkpoint, const CudaEngineOptions& options);
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  void forward(const PackedBatch& batch, float* logits) override;
  std::string name() const override;
  std::string precision() const override { return dtype_name(options_.precision); }
  std::size_t max_tokens_per_forward() const override { return options_.max_tokens; }

  // For tests: the softmax the GPU computed in the last forward, [sequences, labels].
  std::vector<float> last_probabilities() const;
  std::size_t graphs_captured() const { return graphs_.size(); }

 private:
  struct Layer {
    DeviceBuffer<unsigned char> qkv_weight, qkv_bias, attention_output_weight, attention_output_bias;
    DeviceBuffer<unsigned char> intermediate_weight, intermediate_bias, output_weight, output_bias;
    DeviceBuffer<float> attention_norm_gamma, attention_norm_beta, output_norm_gamma, output_norm_beta;
    std::vector<LtLinear> linears;  // qkv, attention output, intermediate, output
  };

  void forward_chunk(const PackedBatch& batch, float* logits);
  void enqueue(const Bucket& bucket, const BatchTable& layout);  // the whole forward on stream_
  DeviceBuffer<unsigned char> upload(const std::vector<float>& host, DType type);
  DeviceBuffer<float> upload_f32(const TensorRef& tensor);

  BertConfig config_;
  CudaEngineOptions options_;
  std::string device_name_;
  cudaStream_t stream_ = nullptr;
  cublasLtHandle_t lt_ = nullptr;
  std::size_t queries_per_tile_ = 0;

  DeviceBuffer<float> word_, position_, token_type_, embedding_gamma_, embedding_beta_;
  std::vector<Layer> layers_;
  DeviceBuffer<float> pooler_weight_, pooler_bias_, classifier_weight_, classifier_bias_;

  // Activations, sized for the largest bucket.
  DeviceBuffer<float> hidden_, delta_;               // fp32 residual stream, GEMM outputs added to it
  DeviceBuffer<unsigned char> hidden_typed_, qkv_, context_, intermediate_;  // compute type
  DeviceBuffer<float> logits_, probabilities_;
  DeviceBuffer<int32_t> table_;
  DeviceBuffer<unsigned char> workspace_;
  PinnedBuffer<int32_t> host_table_;
  PinnedBuffer<float> host_logits_;
  BatchTable plan_;
  Bucket last_bucket_;
  std::size_t last_sequences_ = 0;

  std::map<std::pair<std::size_t, std::size_t>, cudaGraphExec_t> graphs_;
};

// The first device's state for `senti info` and --device auto (cuda_device.cc): computed once.
const CudaAvailability& availability();
std::string cuda_runtime_version();

// The backend for `options` (precision fp32, fp16, bf16 or auto: fp16). Throws ModelError when CUDA
// is not usable, InvalidInputError for a precision it does not run (int8).
std::unique_ptr<Backend> make_backend(const Checkpoint& checkpoint, const BackendOptions& options);

}  // namespace senti::cuda
