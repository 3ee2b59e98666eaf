// The fp32 CPU backend: a BERT encoder + pooler + classifier on oneDNN matmul and the hand-written
// per-token kernels, over packed (unpadded) batches.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "runtime/backend.h"
#include "runtime/cpu/attention.h"
#include "runtime/cpu/onednn_linear.h"
#include "senti/checkpoint.h"

namespace senti::cpu {

class CpuBackend final : public Backend {
 public:
  CpuBackend(const Checkpoint& checkpoint, const BackendOptions& options);

  void forward(const PackedBatch& batch, float* logits) override;
  std::string name() const override { return "cpu-fp32-onednn"; }

 private:
  struct Layer {
    OneDnnLinear query, key, value, attention_output, intermediate, output;
    const EncoderLayerWeights* weights;
  };

  void ensure_capacity(std::size_t tokens, std::size_t sequences);

  const BertConfig& config_;
  const BertWeights& weights_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  std::vector<Layer> layers_;
  OneDnnLinear pooler_, classifier_;
  PackedAttention attention_;

  // Workspace, grown to the largest batch seen and reused: no allocation per call after warm-up.
  std::vector<float> hidden_, q_, k_, v_, context_, projected_, intermediate_;
  std::vector<float> cls_, pooled_;
  std::vector<std::size_t> positions_;
};

}  // namespace senti::cpu
