// Loading a Hugging Face checkpoint folder (config.json, vocab.txt, model.safetensors or
// pytorch_model.bin) into fp32 weight views. float32 tensors are used straight from the mmapped
// file; float16/bfloat16 tensors are widened once into buffers the checkpoint owns.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "senti/model_config.h"

namespace senti {

// A read-only fp32 tensor. Row-major; PyTorch's nn.Linear weight is [out_features, in_features].
struct TensorRef {
  const float* data = nullptr;
  std::vector<std::size_t> shape;
  std::size_t numel() const {
    std::size_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

struct LinearWeights {
  TensorRef weight;  // [out, in]
  TensorRef bias;    // [out]
};

struct LayerNormWeights {
  TensorRef gamma;  // [hidden]
  TensorRef beta;   // [hidden]
};

struct EncoderLayerWeights {
  LinearWeights query, key, value;    // [hidden, hidden]
  LinearWeights attention_output;     // [hidden, hidden]
  LayerNormWeights attention_norm;
  LinearWeights intermediate;         // [intermediate, hidden]
  LinearWeights output;               // [hidden, intermediate]
  LayerNormWeights output_norm;
};

struct BertWeights {
  TensorRef word_embeddings;        // [vocab, hidden]
  TensorRef position_embeddings;    // [max_position, hidden]
  TensorRef token_type_embeddings;  // [type_vocab, hidden]
  LayerNormWeights embedding_norm;
  std::vector<EncoderLayerWeights> layers;
  LinearWeights pooler;             // [hidden, hidden]
  LinearWeights classifier;         // [num_labels, hidden]
};

class Checkpoint {
 public:
  // Loads a folder. Throws ModelError: missing files, bad JSON, unsupported settings, missing
  // tensors ("bert.encoder.layer.0.attention.self.query.weight missing") or wrong shapes
  // ("... has shape [768, 700], expected [768, 768]").
  static Checkpoint load(const std::filesystem::path& dir);

  const std::filesystem::path& directory() const { return dir_; }
  const BertConfig& config() const { return config_; }
  const BertWeights& weights() const { return weights_; }
  const std::string& weights_file() const { return weights_file_; }  // file name it read
  // Once a backend has packed its own copies of the weights: takes the weights file's pages read so
  // far out of the process's resident set (the CPU backend still reads the embeddings and norms in
  // place: their pages come back as they are read). Changes no value.
  void drop_resident_pages() const noexcept;

  Checkpoint(Checkpoint&&) noexcept;
  Checkpoint& operator=(Checkpoint&&) noexcept;
  ~Checkpoint();

  struct Storage;  // mmaps and widened buffers that the TensorRefs point into

 private:
  Checkpoint();
  std::filesystem::path dir_;
  BertConfig config_;
  BertWeights weights_;
  std::string weights_file_;
  std::unique_ptr<Storage> storage_;
};

}  // namespace senti
