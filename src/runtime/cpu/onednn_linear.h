// y = act(x · Wᵀ + b) on oneDNN matmul, reading PyTorch's [out, in] weight in place (no copy).
#pragma once

#include <cstddef>
#include <map>

#include <oneapi/dnnl/dnnl.hpp>

#include "senti/checkpoint.h"

namespace senti::cpu {

enum class Activation { kNone, kGeluErf, kTanh };

class OneDnnLinear {
 public:
  OneDnnLinear(const dnnl::engine& engine, const LinearWeights& weights, Activation activation);

  // x: [rows, in] row-major, y: [rows, out] row-major.
  void forward(dnnl::stream& stream, const float* x, std::size_t rows, float* y);

  std::size_t in_features() const { return in_; }
  std::size_t out_features() const { return out_; }

 private:
  const dnnl::matmul& primitive_for(std::size_t rows);

  dnnl::engine engine_;
  const float* weight_;
  const float* bias_;
  std::size_t in_, out_;
  Activation activation_;
  // One primitive per distinct row count seen; bounded, cleared when it grows past the cap.
  std::map<std::size_t, dnnl::matmul> primitives_;
};

}  // namespace senti::cpu
