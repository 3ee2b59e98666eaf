// The CPU backend's model: the encoder's linear layers packed for one precision (QKV fused into one
// [3h, h] matmul), plus the fp32 tensors used by the hand-written kernels (embeddings, LayerNorms).
#pragma once

#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "runtime/cpu/packed_linear.h"
#include "senti/checkpoint.h"

namespace senti::cpu {

struct CpuLayer {
  PackedLinear qkv;               // [3h, h]: query | key | value
  PackedLinear attention_output;  // [h, h]
  PackedLinear intermediate;      // [i, h], GELU
  PackedLinear output;            // [h, i]
  LayerNormWeights attention_norm, output_norm;
};

struct CpuModel {
  std::vector<CpuLayer> layers;
  // Kept in fp32 whatever the precision: they run once per sequence and decide the label.
  std::vector<PackedLinear> head;  // [0] pooler (tanh), [1] classifier
  // Embedding tables and LayerNorm parameters (fp32); linear-layer entries are unused.
  BertWeights tensors;
  Precision precision = Precision::kFp32;
};

// Packs a checkpoint's fp32 weights (fusing Q, K and V).
CpuModel pack_checkpoint(const dnnl::engine& engine, const Checkpoint& checkpoint, Precision precision);

}  // namespace senti::cpu
