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
  // [0] pooler (tanh): pooler_precision; [1] classifier: fp32 (it decides the label, and is tiny).
  std::vector<PackedLinear> head;
  // Embedding tables and LayerNorm parameters (fp32); linear-layer entries are unused.
  BertWeights tensors;
  Precision precision = Precision::kFp32;
};

// The pooler's precision in a model of `model` precision: int8 in int8 models, else fp32. It reads one
// row per text, so it is bound by its weights' bytes: 2.4 MB in fp32 for rbt3, read from DRAM on every
// batch-1 request on the AVX2 host; in int8 rbt3 batch-1 went 4.12 -> 3.84 ms (1 thread, alternating
// runs). The default model's test + dev agreement with fp32: 99.92% both ways, mean |Δscore| 0.00074
// -> 0.00080.
Precision pooler_precision(Precision model);

// Packs a checkpoint's fp32 weights (fusing Q, K and V).
CpuModel pack_checkpoint(const dnnl::engine& engine, const Checkpoint& checkpoint, Precision precision);

}  // namespace senti::cpu
