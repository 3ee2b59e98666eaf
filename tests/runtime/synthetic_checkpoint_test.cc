// The C++ synthetic checkpoint writer reproduces tools/synthetic_weights.py bit for bit.
#include "model/synthetic_checkpoint.h"

#include <cstring>
#include <map>

#include <gtest/gtest.h>

#include "runtime/golden_util.h"
#include "senti/checkpoint.h"

namespace senti {
namespace {

using test::read_bytes;
using test::test_data_dir;

const nlohmann::json& synthetic_golden() {
  static const nlohmann::json j = test::read_json(test_data_dir() / "goldens/synthetic_weights.json");
  return j;
}

std::uint32_t bits_of(float v) {
  std::uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

BertConfig config_named(const std::string& name) { return name == "tiny" ? tiny_config() : rbt3_config(); }

TEST(SyntheticCheckpoint, GeneratorKnownValues) {
  // Independent of the golden file: values worked out by hand from the definition
  // (tools/synthetic_weights.py prints them).
  EXPECT_EQ(fnv1a64(""), 0xCBF29CE484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xAF63DC4C8601EC8CULL);
  EXPECT_EQ(fnv1a64("bert.embeddings.word_embeddings.weight") ^ 1, 0x4b7e64761fa81b3eULL);
  EXPECT_EQ(bits_of(synthetic_value("bert.embeddings.word_embeddings.weight", 1, 0)), 0xbd03cb9au);
  EXPECT_EQ(bits_of(synthetic_value("bert.embeddings.LayerNorm.weight", 1, 1)), 0x3f70ae2fu);
  EXPECT_EQ(bits_of(synthetic_value("classifier.weight", 1, 3)), 0x3d142baeu);
  std::vector<float> v(5);
  fill_synthetic_values("classifier.weight", 1, v, 2);
  EXPECT_EQ(bits_of(v[0]), 0x3e68114fu);
  EXPECT_EQ(bits_of(v[1]), 0x3d142baeu);
}

TEST(SyntheticCheckpoint, ConfigsMatchPython) {
  for (const auto& [name, m] : synthetic_golden().at("models").items()) {
    SCOPED_TRACE(name);
    const BertConfig c = config_named(name);
    const auto& pc = m.at("config");
    EXPECT_EQ(c.num_hidden_layers, pc.at("num_hidden_layers").get<std::size_t>());
    EXPECT_EQ(c.hidden_size, pc.at("hidden_size").get<std::size_t>());
    EXPECT_EQ(c.num_attention_heads, pc.at("num_attention_heads").get<std::size_t>());
    EXPECT_EQ(c.intermediate_size, pc.at("intermediate_size").get<std::size_t>());
    EXPECT_EQ(c.vocab_size, pc.at("vocab_size").get<std::size_t>());
    EXPECT_EQ(c.max_position_embeddings, pc.at("max_position_embeddings").get<std::size_t>());
    EXPECT_EQ(c.type_vocab_size, pc.at("type_vocab_size").get<std::size_t>());
    EXPECT_FLOAT_EQ(c.layer_norm_eps, pc.at("layer_norm_eps").get<float>());
    EXPECT_EQ(c.labels, m.at("labels").get<std::vector<std::string>>());
  }
}

TEST(SyntheticCheckpoint, TensorListAndSampledValuesMatchPython) {
  for (const auto& [name, m] : synthetic_golden().at("models").items()) {
    SCOPED_TRACE(name);
    const auto seed = m.at("seed").get<std::uint64_t>();
    const auto specs = synthetic_tensor_specs(config_named(name));
    const auto& samples = m.at("samples");
    ASSERT_EQ(specs.size(), samples.size());
    std::size_t checked = 0;
    for (std::size_t t = 0; t < specs.size(); ++t) {
      const auto& s = samples[t];
      ASSERT_EQ(specs[t].name, s.at("name").get<std::string>());
      ASSERT_EQ(specs[t].shape, s.at("shape").get<std::vector<std::size_t>>()) << specs[t].name;
      const auto idx = s.at("indices").get<std::vector<std::size_t>>();
      const auto bits = s.at("bits").get<std::vector<std::uint32_t>>();
      for (std::size_t k = 0; k < idx.size(); ++k, ++checked) {
        ASSERT_EQ(bits_of(synthetic_value(specs[t].name, seed, idx[k])), bits[k])
            << specs[t].name << "[" << idx[k] << "]";
      }
    }
    EXPECT_GT(checked, 4 * specs.size());
  }
}

TEST(SyntheticCheckpoint, TinyWriterIsByteIdenticalToCommittedCheckpoint) {
  test::TempDir tmp("synthetic-tiny");
  const auto& m = synthetic_golden().at("models").at("tiny");
  write_synthetic_checkpoint(tmp.path(), tiny_config(), m.at("seed").get<std::uint64_t>(), test::vocab_file());
  const auto committed = test_data_dir() / "models/tiny";
  for (const char* file : {"model.safetensors", "config.json", "tokenizer_config.json", "vocab.txt"}) {
    SCOPED_TRACE(file);
    const std::string ours = read_bytes(tmp.path() / file);
    const std::string theirs = read_bytes(committed / file);
    EXPECT_EQ(ours.size(), theirs.size());
    EXPECT_TRUE(ours == theirs) << "differs from the Python-written " << (committed / file);
  }
  const std::string st = read_bytes(tmp.path() / "model.safetensors");
  EXPECT_EQ(test::sha256_hex(st), m.at("safetensors_sha256").get<std::string>());
  // Loads, and BertConfig::from_json_file reads back what we wrote.
  const auto cp = Checkpoint::load(tmp.path());
  EXPECT_EQ(cp.config().hidden_size, 32u);
  EXPECT_EQ(cp.config().labels, tiny_config().labels);
  EXPECT_FLOAT_EQ(cp.config().layer_norm_eps, 1e-12f);
}

TEST(SyntheticCheckpoint, Rbt3WriterMatchesPythonFileHash) {
  if (!synthetic_golden().at("models").contains("rbt3")) GTEST_SKIP() << "no rbt3 entry in synthetic_weights.json";
  const auto& m = synthetic_golden().at("models").at("rbt3");
  test::TempDir tmp("synthetic-rbt3");
  write_synthetic_checkpoint(tmp.path(), rbt3_config(), m.at("seed").get<std::uint64_t>(), test::vocab_file());
  const std::string st = read_bytes(tmp.path() / "model.safetensors");
  EXPECT_EQ(st.size(), m.at("safetensors_size").get<std::size_t>());
  EXPECT_EQ(test::sha256_hex(st), m.at("safetensors_sha256").get<std::string>())
      << "model.safetensors differs from the one tools/make_model_goldens.py wrote";
}

// Every tensor of a loaded checkpoint, by HF name.
std::map<std::string, TensorRef> tensors_by_name(const BertWeights& w) {
  std::map<std::string, TensorRef> t;
  auto lin = [&](const std::string& p, const LinearWeights& l) {
    t[p + ".weight"] = l.weight;
    t[p + ".bias"] = l.bias;
  };
  auto ln = [&](const std::string& p, const LayerNormWeights& l) {
    t[p + ".weight"] = l.gamma;
    t[p + ".bias"] = l.beta;
  };
  t["bert.embeddings.word_embeddings.weight"] = w.word_embeddings;
  t["bert.embeddings.position_embeddings.weight"] = w.position_embeddings;
  t["bert.embeddings.token_type_embeddings.weight"] = w.token_type_embeddings;
  ln("bert.embeddings.LayerNorm", w.embedding_norm);
  for (std::size_t i = 0; i < w.layers.size(); ++i) {
    const std::string p = "bert.encoder.layer." + std::to_string(i) + ".";
    const auto& l = w.layers[i];
    lin(p + "attention.self.query", l.query);
    lin(p + "attention.self.key", l.key);
    lin(p + "attention.self.value", l.value);
    lin(p + "attention.output.dense", l.attention_output);
    ln(p + "attention.output.LayerNorm", l.attention_norm);
    lin(p + "intermediate.dense", l.intermediate);
    lin(p + "output.dense", l.output);
    ln(p + "output.LayerNorm", l.output_norm);
  }
  lin("bert.pooler.dense", w.pooler);
  lin("classifier", w.classifier);
  return t;
}

void expect_generator_weights(const Checkpoint& cp, std::uint64_t seed) {
  const auto tensors = tensors_by_name(cp.weights());
  const auto specs = synthetic_tensor_specs(tiny_config());
  ASSERT_EQ(tensors.size(), specs.size());
  for (const auto& s : specs) {
    SCOPED_TRACE(s.name);
    const auto it = tensors.find(s.name);
    ASSERT_NE(it, tensors.end());
    ASSERT_EQ(it->second.shape, s.shape);
    std::vector<float> want(s.numel());
    fill_synthetic_values(s.name, seed, want);
    ASSERT_EQ(std::memcmp(want.data(), it->second.data, want.size() * sizeof(float)), 0);
  }
}

TEST(SyntheticCheckpoint, CommittedTinyWeightsEqualGeneratorInBothFormats) {
  const auto seed = synthetic_golden().at("models").at("tiny").at("seed").get<std::uint64_t>();
  const auto dir = test_data_dir() / "models/tiny";
  {
    const auto cp = Checkpoint::load(dir);
    EXPECT_EQ(cp.weights_file(), "model.safetensors");
    expect_generator_weights(cp, seed);
  }
  test::TempDir tmp("tiny-bin");
  test::copy_model_without(dir, tmp.path(), {"model.safetensors"});
  const auto cp = Checkpoint::load(tmp.path());
  EXPECT_EQ(cp.weights_file(), "pytorch_model.bin");
  expect_generator_weights(cp, seed);
}

}  // namespace
}  // namespace senti
