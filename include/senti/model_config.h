// The settings of a BertForSequenceClassification model, read from a Hugging Face config.json.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace senti {

struct BertConfig {
  std::size_t vocab_size = 0;
  std::size_t hidden_size = 0;
  std::size_t num_hidden_layers = 0;
  std::size_t num_attention_heads = 0;
  std::size_t intermediate_size = 0;
  std::size_t max_position_embeddings = 512;
  std::size_t type_vocab_size = 2;
  float layer_norm_eps = 1e-12f;
  std::string hidden_act = "gelu";                     // only erf GELU is implemented
  std::string position_embedding_type = "absolute";    // only absolute is implemented
  std::vector<std::string> labels;                     // id2label, by id; "LABEL_i" when absent
  // How each label is shown to people (e.g. 正面/负面), from "senti_label_display" in config.json;
  // same size as labels, falls back to the label itself.
  std::vector<std::string> label_display;
  // Calibration temperature from "senti_temperature" in config.json (fitted on dev data by
  // tools/train/calibrate.py): scores = softmax(logits / T). Logits and the argmax are unchanged. 1 = none.
  float score_temperature = 1.f;

  std::size_t num_labels() const { return labels.size(); }
  std::size_t head_dim() const { return hidden_size / num_attention_heads; }

  // Parses and validates config.json. Throws ModelError naming the file and the offending key.
  static BertConfig from_json_file(const std::filesystem::path& path);
  static BertConfig from_json_string(const std::string& json, const std::string& origin);
};

}  // namespace senti
