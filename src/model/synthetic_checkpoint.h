// Deterministic synthetic BERT checkpoints that need neither Python nor downloads.
//
// Every weight comes from a counter-based generator that tools/synthetic_weights.py implements
// bit-exactly (same values, same model.safetensors bytes):
//   key   = FNV-1a 64(full HF tensor name) ^ seed
//   z     = splitmix64_finaliser(key + (i + 1) * 0x9E3779B97F4A7C15)   (i: flat row-major index)
//   u     = (z >> 11) * 2^-53
//   value = float32(center + scale * (2u - 1))                         (computed in double)
// center/scale: LayerNorm weight 1/0.1, LayerNorm bias 0/0.05, classifier.weight 0/0.5, other biases
// 0/0.02, embeddings and dense weights 0/0.05.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "senti/model_config.h"

namespace senti {

// hfl/rbt3 shape: 3 layers, hidden 768, 12 heads, intermediate 3072, vocab 21128, labels
// {"negative", "positive"}.
BertConfig rbt3_config();
// A tiny model for tests: 2 layers, hidden 32, 4 heads, intermediate 64, vocab 21128.
BertConfig tiny_config();

struct SyntheticTensorSpec {
  std::string name;                // full HF name, e.g. "bert.encoder.layer.0.attention.self.query.weight"
  std::vector<std::size_t> shape;  // row-major
  std::size_t numel() const {
    std::size_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

// The tensors of a BertForSequenceClassification state dict, in Hugging Face's order.
std::vector<SyntheticTensorSpec> synthetic_tensor_specs(const BertConfig& config);

std::uint64_t fnv1a64(std::string_view bytes);

// Element `index` (flat, row-major) of tensor `name`.
float synthetic_value(std::string_view name, std::uint64_t seed, std::size_t index);
// Elements first, first + 1, ... of tensor `name` into out.
void fill_synthetic_values(std::string_view name, std::uint64_t seed, std::span<float> out,
                           std::size_t first = 0);

// Writes a Hugging Face checkpoint folder (created if needed): config.json, vocab.txt (copied from
// vocab_file), model.safetensors (F32, byte-identical to safetensors.torch.save_file with
// metadata {"format": "pt"}), tokenizer_config.json (do_lower_case, model_max_length 512).
// Throws ModelError when a file cannot be read or written.
void write_synthetic_checkpoint(const std::filesystem::path& dir, const BertConfig& config, std::uint64_t seed,
                                const std::filesystem::path& vocab_file);

}  // namespace senti
