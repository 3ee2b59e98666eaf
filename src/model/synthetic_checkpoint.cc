#include "model/synthetic_checkpoint.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <fstream>
#include <iterator>
#include <system_error>

#include <nlohmann/json.hpp>

#include "senti/error.h"

namespace senti {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

constexpr std::uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ULL;

struct CenterScale {
  double center;
  double scale;
};

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

CenterScale center_scale(std::string_view name) {
  if (ends_with(name, "LayerNorm.weight")) return {1.0, 0.1};
  if (ends_with(name, "LayerNorm.bias")) return {0.0, 0.05};
  if (name == "classifier.weight") return {0.0, 0.5};
  if (ends_with(name, ".bias")) return {0.0, 0.02};
  return {0.0, 0.05};
}

inline float generate(std::uint64_t key, std::size_t index, CenterScale cs) {
  std::uint64_t z = key + (static_cast<std::uint64_t>(index) + 1) * kGoldenGamma;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  const double u = static_cast<double>(z >> 11) * 0x1.0p-53;
  // volatile: keep the two double roundings of Python/numpy even where the compiler may contract
  // the multiply-add into an FMA.
  volatile double scaled = cs.scale * (2.0 * u - 1.0);
  return static_cast<float>(cs.center + scaled);
}

std::string float_text(float v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

void write_text_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) throw ModelError(path.string() + ": cannot write");
}

BertConfig with_common(BertConfig c) {
  c.vocab_size = 21128;
  c.max_position_embeddings = 512;
  c.type_vocab_size = 2;
  c.layer_norm_eps = 1e-12f;
  c.hidden_act = "gelu";
  c.position_embedding_type = "absolute";
  c.labels = {"negative", "positive"};
  c.label_display = c.labels;
  return c;
}

nlohmann::json config_json(const BertConfig& c) {
  nlohmann::json j;
  j["architectures"] = {"BertForSequenceClassification"};
  j["model_type"] = "bert";
  j["attention_probs_dropout_prob"] = 0.1;
  j["classifier_dropout"] = nullptr;
  j["hidden_act"] = c.hidden_act;
  j["hidden_dropout_prob"] = 0.1;
  j["hidden_size"] = c.hidden_size;
  j["initializer_range"] = 0.02;
  j["intermediate_size"] = c.intermediate_size;
  // Shortest text that reads back as the same float (1e-12, not 9.9999999600419e-13).
  j["layer_norm_eps"] = nlohmann::json::parse(float_text(c.layer_norm_eps));
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["pad_token_id"] = 0;
  j["position_embedding_type"] = c.position_embedding_type;
  j["type_vocab_size"] = c.type_vocab_size;
  j["vocab_size"] = c.vocab_size;
  j["torch_dtype"] = "float32";
  nlohmann::json id2label = nlohmann::json::object(), label2id = nlohmann::json::object();
  for (std::size_t i = 0; i < c.labels.size(); ++i) {
    id2label[std::to_string(i)] = c.labels[i];
    label2id[c.labels[i]] = i;
  }
  j["id2label"] = id2label;
  j["label2id"] = label2id;
  if (!c.label_display.empty() && c.label_display != c.labels) j["senti_label_display"] = c.label_display;
  return j;
}

}  // namespace

BertConfig rbt3_config() {
  BertConfig c;
  c.num_hidden_layers = 3;
  c.hidden_size = 768;
  c.num_attention_heads = 12;
  c.intermediate_size = 3072;
  return with_common(std::move(c));
}

BertConfig tiny_config() {
  BertConfig c;
  c.num_hidden_layers = 2;
  c.hidden_size = 32;
  c.num_attention_heads = 4;
  c.intermediate_size = 64;
  return with_common(std::move(c));
}

std::vector<SyntheticTensorSpec> synthetic_tensor_specs(const BertConfig& c) {
  const std::size_t h = c.hidden_size;
  std::vector<SyntheticTensorSpec> specs = {
      {"bert.embeddings.word_embeddings.weight", {c.vocab_size, h}},
      {"bert.embeddings.position_embeddings.weight", {c.max_position_embeddings, h}},
      {"bert.embeddings.token_type_embeddings.weight", {c.type_vocab_size, h}},
      {"bert.embeddings.LayerNorm.weight", {h}},
      {"bert.embeddings.LayerNorm.bias", {h}},
  };
  for (std::size_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "bert.encoder.layer." + std::to_string(l) + ".";
    for (const char* n : {"query", "key", "value"}) {
      specs.push_back({p + "attention.self." + n + ".weight", {h, h}});
      specs.push_back({p + "attention.self." + n + ".bias", {h}});
    }
    specs.push_back({p + "attention.output.dense.weight", {h, h}});
    specs.push_back({p + "attention.output.dense.bias", {h}});
    specs.push_back({p + "attention.output.LayerNorm.weight", {h}});
    specs.push_back({p + "attention.output.LayerNorm.bias", {h}});
    specs.push_back({p + "intermediate.dense.weight", {c.intermediate_size, h}});
    specs.push_back({p + "intermediate.dense.bias", {c.intermediate_size}});
    specs.push_back({p + "output.dense.weight", {h, c.intermediate_size}});
    specs.push_back({p + "output.dense.bias", {h}});
    specs.push_back({p + "output.LayerNorm.weight", {h}});
    specs.push_back({p + "output.LayerNorm.bias", {h}});
  }
  specs.push_back({"bert.pooler.dense.weight", {h, h}});
  specs.push_back({"bert.pooler.dense.bias", {h}});
  specs.push_back({"classifier.weight", {c.num_labels(), h}});
  specs.push_back({"classifier.bias", {c.num_labels()}});
  return specs;
}

std::uint64_t fnv1a64(std::string_view bytes) {
  std::uint64_t h = 0xCBF29CE484222325ULL;
  for (unsigned char b : bytes) {
    h ^= b;
    h *= 0x100000001B3ULL;
  }
  return h;
}

float synthetic_value(std::string_view name, std::uint64_t seed, std::size_t index) {
  return generate(fnv1a64(name) ^ seed, index, center_scale(name));
}

void fill_synthetic_values(std::string_view name, std::uint64_t seed, std::span<float> out, std::size_t first) {
  const std::uint64_t key = fnv1a64(name) ^ seed;
  const CenterScale cs = center_scale(name);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = generate(key, first + i, cs);
}

void write_synthetic_checkpoint(const std::filesystem::path& dir, const BertConfig& config, std::uint64_t seed,
                                const std::filesystem::path& vocab_file) {
  if (config.hidden_size == 0 || config.num_attention_heads == 0 || config.labels.empty())
    throw ModelError("write_synthetic_checkpoint: incomplete BertConfig");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw ModelError(dir.string() + ": cannot create directory: " + ec.message());

  write_text_file(dir / "config.json", config_json(config).dump(2) + "\n");

  nlohmann::json tok;
  tok["do_lower_case"] = true;
  tok["model_max_length"] = std::min<std::size_t>(512, config.max_position_embeddings);
  tok["tokenizer_class"] = "BertTokenizer";
  write_text_file(dir / "tokenizer_config.json", tok.dump(2) + "\n");

  {
    // Copied by content (not copy_file) so that a read-only source does not yield a read-only copy.
    std::ifstream in(vocab_file, std::ios::binary);
    if (!in) throw ModelError(vocab_file.string() + ": cannot open vocabulary file");
    std::string vocab((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw ModelError(vocab_file.string() + ": read failed");
    write_text_file(dir / "vocab.txt", vocab);
  }

  // model.safetensors, laid out as safetensors.torch.save_file(..., metadata={"format": "pt"}) does:
  // tensors sorted by name, compact JSON header padded with spaces to a multiple of 8.
  auto specs = synthetic_tensor_specs(config);
  std::sort(specs.begin(), specs.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::string header = R"({"__metadata__":{"format":"pt"})";
  std::size_t offset = 0;
  for (const auto& s : specs) {
    header += ",\"" + s.name + "\":{\"dtype\":\"F32\",\"shape\":[";
    for (std::size_t d = 0; d < s.shape.size(); ++d) {
      if (d) header += ',';
      header += std::to_string(s.shape[d]);
    }
    const std::size_t end = offset + s.numel() * sizeof(float);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(end) + "]}";
    offset = end;
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');

  const auto path = dir / "model.safetensors";
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw ModelError(path.string() + ": cannot open for writing");
  unsigned char len[8];
  std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
  out.write(reinterpret_cast<const char*>(len), 8);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  std::vector<float> buf;
  constexpr std::size_t kChunk = std::size_t{1} << 20;
  for (const auto& s : specs) {
    const std::size_t numel = s.numel();
    for (std::size_t first = 0; first < numel; first += kChunk) {
      const std::size_t count = std::min(kChunk, numel - first);
      buf.resize(count);
      fill_synthetic_values(s.name, seed, buf, first);
      out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(count * sizeof(float)));
    }
  }
  out.close();
  if (!out) throw ModelError(path.string() + ": write failed");
}

}  // namespace senti
