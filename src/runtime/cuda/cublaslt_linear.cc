#include "runtime/cuda/cublaslt_linear.h"

#include <string>
#include <utility>

#include "runtime/cuda/cuda_check.h"

namespace senti::cuda {
namespace {

cudaDataType_t cuda_type(DType type) {
  switch (type) {
    case DType::kF32: return CUDA_R_32F;
    case DType::kF16: return CUDA_R_16F;
    case DType::kBF16: return CUDA_R_16BF;
  }
  return CUDA_R_32F;
}

}  // namespace

// cuBLASLt is column-major. Row-major y[rows, out] is column-major y^T[out, rows], and
// y^T = W x^T: A = W, stored row-major [out, in] = column-major [in, out], used transposed (m = out,
// k = in); B = x, row-major [rows, in] = column-major [in, rows], not transposed (n = rows); C = D =
// column-major [out, rows] with ld = out. The bias has one entry per row of D, i.e. per output feature.
struct LtLinear::Shape {
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
  ~Shape() {
    if (a != nullptr) cublasLtMatrixLayoutDestroy(a);
    if (b != nullptr) cublasLtMatrixLayoutDestroy(b);
    if (c != nullptr) cublasLtMatrixLayoutDestroy(c);
  }
};

LtLinear::LtLinear(cublasLtHandle_t handle, std::size_t out_features, std::size_t in_features, DType compute,
                   DType output, Epilogue epilogue, const void* weight, const void* bias)
    : handle_(handle),
      out_(out_features),
      in_(in_features),
      compute_(compute),
      output_(output),
      epilogue_(epilogue),
      weight_(weight),
      bias_(bias) {
  SENTI_CUDA_CHECK(cublasLtMatmulDescCreate(&desc_, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t transpose = CUBLAS_OP_T, keep = CUBLAS_OP_N;
  SENTI_CUDA_CHECK(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSA, &transpose, sizeof transpose));
  SENTI_CUDA_CHECK(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSB, &keep, sizeof keep));
  const cublasLtEpilogue_t fused = epilogue == Epilogue::kBiasGelu ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_BIAS;
  SENTI_CUDA_CHECK(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_EPILOGUE, &fused, sizeof fused));
  SENTI_CUDA_CHECK(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias_, sizeof bias_));
}

LtLinear::LtLinear(LtLinear&& other) noexcept
    : handle_(other.handle_),
      out_(other.out_),
      in_(other.in_),
      compute_(other.compute_),
      output_(other.output_),
      epilogue_(other.epilogue_),
      weight_(other.weight_),
      bias_(other.bias_),
      desc_(std::exchange(other.desc_, nullptr)),
      shapes_(std::move(other.shapes_)) {}

LtLinear& LtLinear::operator=(LtLinear&& other) noexcept {
  std::swap(handle_, other.handle_);
  std::swap(out_, other.out_);
  std::swap(in_, other.in_);
  std::swap(compute_, other.compute_);
  std::swap(output_, other.output_);
  std::swap(epilogue_, other.epilogue_);
  std::swap(weight_, other.weight_);
  std::swap(bias_, other.bias_);
  std::swap(desc_, other.desc_);
  std::swap(shapes_, other.shapes_);
  return *this;
}

LtLinear::~LtLinear() {
  shapes_.clear();
  if (desc_ != nullptr) cublasLtMatmulDescDestroy(desc_);
}

LtLinear::Shape& LtLinear::shape_for(std::size_t rows, std::size_t workspace_bytes) {
  auto found = shapes_.find(rows);
  if (found != shapes_.end()) return *found->second;
  auto shape = std::make_unique<Shape>();
  const auto m = static_cast<uint64_t>(out_), n = static_cast<uint64_t>(rows), k = static_cast<uint64_t>(in_);
  SENTI_CUDA_CHECK(cublasLtMatrixLayoutCreate(&shape->a, cuda_type(compute_), k, m, static_cast<int64_t>(k)));
  SENTI_CUDA_CHECK(cublasLtMatrixLayoutCreate(&shape->b, cuda_type(compute_), k, n, static_cast<int64_t>(k)));
  SENTI_CUDA_CHECK(cublasLtMatrixLayoutCreate(&shape->c, cuda_type(output_), m, n, static_cast<int64_t>(m)));

  cublasLtMatmulPreference_t preference = nullptr;
  SENTI_CUDA_CHECK(cublasLtMatmulPreferenceCreate(&preference));
  cublasLtMatmulHeuristicResult_t result{};
  int found_count = 0;
  const cublasStatus_t status = [&] {
    const cublasStatus_t set = cublasLtMatmulPreferenceSetAttribute(
        preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes, sizeof workspace_bytes);
    if (set != CUBLAS_STATUS_SUCCESS) return set;
    return cublasLtMatmulAlgoGetHeuristic(handle_, desc_, shape->a, shape->b, shape->c, shape->c, preference, 1,
                                          &result, &found_count);
  }();
  cublasLtMatmulPreferenceDestroy(preference);
  SENTI_CUDA_CHECK(status);
  if (found_count == 0) {
    throw CudaError("cuBLASLt has no algorithm for a " + std::string(dtype_name(compute_)) + " GEMM [" +
                    std::to_string(rows) + " x " + std::to_string(in_) + "] x [" + std::to_string(in_) + " x " +
                    std::to_string(out_) + "] with output " + dtype_name(output_));
  }
  shape->algo = result.algo;
  return *shapes_.emplace(rows, std::move(shape)).first->second;
}

void LtLinear::forward(const void* x, std::size_t rows, void* y, void* workspace, std::size_t workspace_bytes,
                       cudaStream_t stream) {
  if (rows == 0) return;
  Shape& shape = shape_for(rows, workspace_bytes);
  const float alpha = 1.f, beta = 0.f;
  SENTI_CUDA_CHECK(cublasLtMatmul(handle_, desc_, &alpha, weight_, shape.a, x, shape.b, &beta, y, shape.c, y, shape.c,
                                  &shape.algo, workspace, workspace_bytes, stream));
}

}  // namespace senti::cuda
