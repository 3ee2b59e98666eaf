// A linear layer y = x W^T + b (optionally GELU) on cuBLASLt: inputs and weights in the compute type
// (fp32, fp16 or bf16), fp32 accumulation, output in fp32 or the compute type, bias and GELU fused into
// the GEMM's epilogue. The algorithm is picked once per row count by cuBLASLt's heuristic and cached,
// so captured graphs replay fixed kernels.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <map>
#include <memory>

#include "runtime/cuda/kernels.h"

namespace senti::cuda {

enum class Epilogue { kBias, kBiasGelu };

class LtLinear {
 public:
  // weight: [out, in] row-major in `compute`; bias: [out] in `output` type. Both stay owned by the caller.
  LtLinear(cublasLtHandle_t handle, std::size_t out_features, std::size_t in_features, DType compute, DType output,
           Epilogue epilogue, const void* weight, const void* bias);
  LtLinear(LtLinear&&) noexcept;
  LtLinear& operator=(LtLinear&&) noexcept;
  ~LtLinear();

  // y [rows, out] = x [rows, in] W^T + b. The workspace must stay the same between calls that a graph
  // captures.
  void forward(const void* x, std::size_t rows, void* y, void* workspace, std::size_t workspace_bytes,
               cudaStream_t stream);

  std::size_t out_features() const { return out_; }
  std::size_t in_features() const { return in_; }

 private:
  struct Shape;  // layouts and the chosen algorithm for one row count
  Shape& shape_for(std::size_t rows, std::size_t workspace_bytes);

  cublasLtHandle_t handle_ = nullptr;
  std::size_t out_ = 0, in_ = 0;
  DType compute_ = DType::kF32, output_ = DType::kF32;
  Epilogue epilogue_ = Epilogue::kBias;
  const void* weight_ = nullptr;
  const void* bias_ = nullptr;
  cublasLtMatmulDesc_t desc_ = nullptr;
  std::map<std::size_t, std::unique_ptr<Shape>> shapes_;
};

}  // namespace senti::cuda
