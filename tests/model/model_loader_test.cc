// Tests of config.json parsing and checkpoint loading (safetensors, torch zip and legacy formats).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>
#include <vector>

#include "model/half_float.h"
#include "model/torch_pickle_reader.h"
#include "senti/checkpoint.h"
#include "senti/error.h"
#include "senti/model_config.h"

namespace fs = std::filesystem;
using senti::BertConfig;
using senti::Checkpoint;
using senti::ModelError;
using senti::TensorRef;
using ::testing::HasSubstr;

namespace {

const fs::path kTiny = fs::path(SENTI_TEST_DATA_DIR) / "loader_fixtures";

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("senti_model_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A model folder with the tiny fixture's config.json and vocab.txt.
void copy_text_files(const fs::path& dir) {
  fs::copy_file(kTiny / "config.json", dir / "config.json");
  fs::copy_file(kTiny / "vocab.txt", dir / "vocab.txt");
}

// Runs f, expects ModelError, returns its message.
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ModelError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected ModelError, got another exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected ModelError, nothing thrown";
  return {};
}

// ---- a tiny safetensors writer ----

struct StTensor {
  std::string name;
  std::string dtype;
  std::vector<std::size_t> shape;
  std::string bytes;
};

std::string safetensors_bytes(const std::vector<StTensor>& tensors, std::size_t pad_header_to = 8) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& t : tensors) {
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
    data += t.bytes;
  }
  std::string h = header.dump();
  while (h.size() % pad_header_to != 0) h.push_back(' ');
  std::string out(8, '\0');
  std::uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + h + data;
}

std::string f32_bytes(const float* p, std::size_t n) { return std::string(reinterpret_cast<const char*>(p), n * 4); }

// Canonical name -> tensor, for every tensor in BertWeights.
std::vector<std::pair<std::string, const TensorRef*>> named(const senti::BertWeights& w) {
  std::vector<std::pair<std::string, const TensorRef*>> out;
  auto lin = [&](const std::string& p, const senti::LinearWeights& l) {
    out.emplace_back(p + ".weight", &l.weight);
    out.emplace_back(p + ".bias", &l.bias);
  };
  auto norm = [&](const std::string& p, const senti::LayerNormWeights& l) {
    out.emplace_back(p + ".weight", &l.gamma);
    out.emplace_back(p + ".bias", &l.beta);
  };
  out.emplace_back("bert.embeddings.word_embeddings.weight", &w.word_embeddings);
  out.emplace_back("bert.embeddings.position_embeddings.weight", &w.position_embeddings);
  out.emplace_back("bert.embeddings.token_type_embeddings.weight", &w.token_type_embeddings);
  norm("bert.embeddings.LayerNorm", w.embedding_norm);
  for (std::size_t i = 0; i < w.layers.size(); ++i) {
    const auto& l = w.layers[i];
    const std::string p = "bert.encoder.layer." + std::to_string(i);
    lin(p + ".attention.self.query", l.query);
    lin(p + ".attention.self.key", l.key);
    lin(p + ".attention.self.value", l.value);
    lin(p + ".attention.output.dense", l.attention_output);
    norm(p + ".attention.output.LayerNorm", l.attention_norm);
    lin(p + ".intermediate.dense", l.intermediate);
    lin(p + ".output.dense", l.output);
    norm(p + ".output.LayerNorm", l.output_norm);
  }
  lin("bert.pooler.dense", w.pooler);
  lin("classifier", w.classifier);
  return out;
}

// The reference: the fp32 safetensors fixture.
const Checkpoint& reference() {
  static const Checkpoint cp = Checkpoint::load(kTiny);
  return cp;
}

// Writes the reference model as model.safetensors into dir, letting the test rename, drop or
// replace tensors (return false from edit to drop one).
using Edit = std::function<bool(StTensor&)>;
void write_variant(const fs::path& dir, const Edit& edit, std::size_t pad = 8) {
  copy_text_files(dir);
  std::vector<StTensor> ts;
  for (const auto& [name, ref] : named(reference().weights())) {
    StTensor t{name, "F32", ref->shape, f32_bytes(ref->data, ref->numel())};
    if (edit(t)) ts.push_back(std::move(t));
  }
  write_file(dir / "model.safetensors", safetensors_bytes(ts, pad));
}

void expect_same_weights(const Checkpoint& a, const Checkpoint& b) {
  const auto na = named(a.weights());
  const auto nb = named(b.weights());
  ASSERT_EQ(na.size(), nb.size());
  for (std::size_t i = 0; i < na.size(); ++i) {
    SCOPED_TRACE(na[i].first);
    ASSERT_EQ(na[i].second->shape, nb[i].second->shape);
    ASSERT_NE(na[i].second->data, nullptr);
    ASSERT_NE(nb[i].second->data, nullptr);
    EXPECT_EQ(std::memcmp(na[i].second->data, nb[i].second->data, na[i].second->numel() * sizeof(float)), 0);
  }
}

// ---- config.json ----

std::string tiny_config(const std::function<void(nlohmann::json&)>& edit = {}) {
  auto j = nlohmann::json::parse(read_file(kTiny / "config.json"));
  if (edit) edit(j);
  return j.dump();
}

TEST(ModelConfig, ParsesFixture) {
  const BertConfig c = BertConfig::from_json_file(kTiny / "config.json");
  EXPECT_EQ(c.vocab_size, 32u);
  EXPECT_EQ(c.hidden_size, 8u);
  EXPECT_EQ(c.num_hidden_layers, 2u);
  EXPECT_EQ(c.num_attention_heads, 2u);
  EXPECT_EQ(c.head_dim(), 4u);
  EXPECT_EQ(c.intermediate_size, 16u);
  EXPECT_EQ(c.max_position_embeddings, 16u);
  EXPECT_EQ(c.type_vocab_size, 2u);
  EXPECT_FLOAT_EQ(c.layer_norm_eps, 1e-12f);
  EXPECT_EQ(c.labels, (std::vector<std::string>{"negative", "positive"}));
  EXPECT_EQ(c.label_display, (std::vector<std::string>{"负面", "正面"}));
}

TEST(ModelConfig, LabelFallbacks) {
  const auto c = BertConfig::from_json_string(tiny_config([](auto& j) {
    j.erase("id2label");
    j.erase("label2id");
    j.erase("senti_label_display");
    j["num_labels"] = 3;
  }), "cfg");
  EXPECT_EQ(c.labels, (std::vector<std::string>{"LABEL_0", "LABEL_1", "LABEL_2"}));
  EXPECT_EQ(c.label_display, c.labels);

  const auto d = BertConfig::from_json_string(tiny_config([](auto& j) {
    j["id2label"] = {{"1", "pos"}, {"0", "neg"}};
    j["senti_label_display"] = {{"pos", "正面"}, {"0", "负面"}};  // by label name or by id
  }), "cfg");
  EXPECT_EQ(d.labels, (std::vector<std::string>{"neg", "pos"}));
  EXPECT_EQ(d.label_display, (std::vector<std::string>{"负面", "正面"}));
}

// A 3-label config whose display map was written for 2 labels: "neutral" would be shown as 正面.
TEST(ModelConfig, RejectsStaleLabelDisplay) {
  const auto msg = error_of([] {
    BertConfig::from_json_string(tiny_config([](auto& j) {
      j["id2label"] = {{"0", "negative"}, {"1", "neutral"}, {"2", "positive"}};
      j.erase("label2id");
      j["senti_label_display"] = {{"0", "负面"}, {"1", "正面"}};
    }), "stale/config.json");
  });
  EXPECT_THAT(msg, HasSubstr("stale/config.json"));
  EXPECT_THAT(msg, HasSubstr("senti_label_display"));
  EXPECT_THAT(msg, HasSubstr("2 of the 3 labels"));
  EXPECT_THAT(msg, HasSubstr("id 2 (\"positive\")"));  // the label left without a display name
}

TEST(ModelConfig, RejectsLabelMismatch) {
  const auto msg = error_of([] {
    BertConfig::from_json_string(tiny_config([](auto& j) { j["num_labels"] = 3; }), "cfg.json");
  });
  EXPECT_THAT(msg, HasSubstr("num_labels"));
  EXPECT_THAT(msg, HasSubstr("id2label"));
}

TEST(ModelConfig, RejectsRelativePositions) {
  const auto msg = error_of([] {
    BertConfig::from_json_string(tiny_config([](auto& j) { j["position_embedding_type"] = "relative_key"; }),
                                 "some/config.json");
  });
  EXPECT_THAT(msg, HasSubstr("some/config.json"));
  EXPECT_THAT(msg, HasSubstr("position_embedding_type"));
  EXPECT_THAT(msg, HasSubstr("relative_key"));
  EXPECT_THAT(msg, HasSubstr("\"absolute\""));
}

TEST(ModelConfig, RejectsOtherActivations) {
  const auto msg = error_of([] {
    BertConfig::from_json_string(tiny_config([](auto& j) { j["hidden_act"] = "gelu_new"; }), "cfg.json");
  });
  EXPECT_THAT(msg, HasSubstr("hidden_act"));
  EXPECT_THAT(msg, HasSubstr("gelu_new"));
  EXPECT_THAT(msg, HasSubstr("only \"gelu\""));
}

TEST(ModelConfig, RejectsHeadsNotDividingHidden) {
  const auto msg = error_of([] {
    BertConfig::from_json_string(tiny_config([](auto& j) { j["num_attention_heads"] = 3; }), "cfg.json");
  });
  EXPECT_THAT(msg, HasSubstr("hidden_size"));
  EXPECT_THAT(msg, HasSubstr("num_attention_heads"));
}

TEST(ModelConfig, RejectsMissingAndMistypedSettings) {
  EXPECT_THAT(error_of([] {
                BertConfig::from_json_string(tiny_config([](auto& j) { j.erase("hidden_size"); }), "cfg.json");
              }),
              HasSubstr("missing required setting \"hidden_size\""));
  EXPECT_THAT(error_of([] {
                BertConfig::from_json_string(tiny_config([](auto& j) { j["vocab_size"] = "32"; }), "cfg.json");
              }),
              HasSubstr("\"vocab_size\" must be a positive integer"));
  EXPECT_THAT(error_of([] {
                BertConfig::from_json_string(tiny_config([](auto& j) { j["num_hidden_layers"] = 0; }), "cfg.json");
              }),
              HasSubstr("num_hidden_layers"));
}

TEST(ModelConfig, BadJsonNamesFileAndError) {
  TempDir tmp;
  write_file(tmp.path() / "config.json", "{\"hidden_size\": 8,,}");
  const auto msg = error_of([&] { BertConfig::from_json_file(tmp.path() / "config.json"); });
  EXPECT_THAT(msg, HasSubstr((tmp.path() / "config.json").string()));
  EXPECT_THAT(msg, HasSubstr("invalid JSON"));
  EXPECT_THAT(msg, HasSubstr("parse error"));
}

// ---- folder handling ----

TEST(Checkpoint, MissingConfig) {
  TempDir tmp;
  fs::copy_file(kTiny / "vocab.txt", tmp.path() / "vocab.txt");
  fs::copy_file(kTiny / "model.safetensors", tmp.path() / "model.safetensors");
  EXPECT_THAT(error_of([&] { Checkpoint::load(tmp.path()); }), HasSubstr("no config.json"));
  EXPECT_THAT(error_of([&] { Checkpoint::load(tmp.path() / "nope"); }), HasSubstr("does not exist"));
}

TEST(Checkpoint, BadConfigJson) {
  TempDir tmp;
  copy_text_files(tmp.path());
  fs::copy_file(kTiny / "model.safetensors", tmp.path() / "model.safetensors");
  write_file(tmp.path() / "config.json", "{ not json");
  const auto msg = error_of([&] { Checkpoint::load(tmp.path()); });
  EXPECT_THAT(msg, HasSubstr("config.json"));
  EXPECT_THAT(msg, HasSubstr("invalid JSON"));
}

TEST(Checkpoint, MissingVocab) {
  TempDir tmp;
  fs::copy_file(kTiny / "config.json", tmp.path() / "config.json");
  fs::copy_file(kTiny / "model.safetensors", tmp.path() / "model.safetensors");
  EXPECT_THAT(error_of([&] { Checkpoint::load(tmp.path()); }), HasSubstr("no vocab.txt"));
}

TEST(Checkpoint, NoWeightsFile) {
  TempDir tmp;
  copy_text_files(tmp.path());
  const auto msg = error_of([&] { Checkpoint::load(tmp.path()); });
  EXPECT_THAT(msg, HasSubstr("no weights file"));
  EXPECT_THAT(msg, HasSubstr("model.safetensors"));
  EXPECT_THAT(msg, HasSubstr("pytorch_model.bin"));
}

// ---- safetensors ----

TEST(Checkpoint, LoadsSafetensorsFixture) {
  const Checkpoint& cp = reference();
  EXPECT_EQ(cp.weights_file(), "model.safetensors");
  EXPECT_EQ(cp.config().labels.size(), 2u);
  const auto& w = cp.weights();
  ASSERT_EQ(w.layers.size(), 2u);
  EXPECT_EQ(w.word_embeddings.shape, (std::vector<std::size_t>{32, 8}));
  EXPECT_EQ(w.layers[1].intermediate.weight.shape, (std::vector<std::size_t>{16, 8}));
  EXPECT_EQ(w.layers[1].output.weight.shape, (std::vector<std::size_t>{8, 16}));
  EXPECT_EQ(w.classifier.weight.shape, (std::vector<std::size_t>{2, 8}));
  // The fixture's weights are random, not zero; spot-check one against the raw file bytes.
  bool nonzero = false;
  for (std::size_t i = 0; i < w.word_embeddings.numel(); ++i) nonzero = nonzero || w.word_embeddings.data[i] != 0.0f;
  EXPECT_TRUE(nonzero);
  const std::string raw = read_file(kTiny / "model.safetensors");
  const std::string needle = f32_bytes(w.classifier.weight.data, w.classifier.weight.numel());
  EXPECT_NE(raw.find(needle), std::string::npos);
}

TEST(Checkpoint, MoveKeepsViewsValid) {
  TempDir tmp;
  write_variant(tmp.path(), [](StTensor&) { return true; });
  Checkpoint a = Checkpoint::load(tmp.path());
  const float* p = a.weights().pooler.weight.data;
  Checkpoint b = std::move(a);
  EXPECT_EQ(b.weights().pooler.weight.data, p);
  expect_same_weights(b, reference());
}

TEST(Checkpoint, MisalignedSafetensorsAreCopied) {
  TempDir tmp;
  write_variant(tmp.path(), [](StTensor&) { return true; }, /*pad=*/1);
  // Make the data start at an odd offset: grow the header by one space if it ends aligned.
  std::string bytes = read_file(tmp.path() / "model.safetensors");
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  if (n % 4 == 0) {
    bytes.insert(8 + n, " ");
    ++n;
    for (int i = 0; i < 8; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
    write_file(tmp.path() / "model.safetensors", bytes);
  }
  const Checkpoint cp = Checkpoint::load(tmp.path());
  expect_same_weights(cp, reference());
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(cp.weights().word_embeddings.data) % alignof(float), 0u);
}

TEST(Checkpoint, UnprefixedAndLegacyLayerNormNamesAccepted) {
  TempDir tmp;
  int renamed = 0;
  write_variant(tmp.path(), [&](StTensor& t) {
    if (t.name.rfind("bert.", 0) == 0) t.name = t.name.substr(5);
    const std::string w = "LayerNorm.weight", b = "LayerNorm.bias";
    if (t.name.size() > w.size() && t.name.compare(t.name.size() - w.size(), w.size(), w) == 0) {
      t.name = t.name.substr(0, t.name.size() - 6) + "gamma";
      ++renamed;
    } else if (t.name.size() > b.size() && t.name.compare(t.name.size() - b.size(), b.size(), b) == 0) {
      t.name = t.name.substr(0, t.name.size() - 4) + "beta";
      ++renamed;
    }
    return true;
  });
  EXPECT_EQ(renamed, 10);
  const std::string header = read_file(tmp.path() / "model.safetensors");
  EXPECT_EQ(header.find("bert."), std::string::npos);
  EXPECT_NE(header.find("encoder.layer.0.output.LayerNorm.gamma"), std::string::npos);
  expect_same_weights(Checkpoint::load(tmp.path()), reference());
}

TEST(Checkpoint, WrongShapeNamesTensorAndShapes) {
  TempDir tmp;
  write_variant(tmp.path(), [](StTensor& t) {
    if (t.name == "bert.encoder.layer.1.attention.self.key.weight") {
      t.shape = {8, 7};
      t.bytes.resize(8 * 7 * 4);
    }
    return true;
  });
  const auto msg = error_of([&] { Checkpoint::load(tmp.path()); });
  EXPECT_THAT(msg, HasSubstr("model.safetensors"));
  EXPECT_THAT(msg, HasSubstr("bert.encoder.layer.1.attention.self.key.weight has shape [8, 7], expected [8, 8]"));
}

TEST(Checkpoint, MissingTensorIsNamed) {
  TempDir tmp;
  write_variant(tmp.path(), [](StTensor& t) { return t.name != "bert.encoder.layer.1.output.LayerNorm.bias"; });
  const auto msg = error_of([&] { Checkpoint::load(tmp.path()); });
  EXPECT_THAT(msg, HasSubstr("bert.encoder.layer.1.output.LayerNorm.bias missing"));
  EXPECT_THAT(msg, HasSubstr("looked for bert.encoder.layer.1.output.LayerNorm.bias or "
                             "encoder.layer.1.output.LayerNorm.bias"));
  EXPECT_THAT(msg, HasSubstr("encoder.layer.1.output.LayerNorm.beta"));

  TempDir tmp2;
  write_variant(tmp2.path(), [](StTensor& t) { return t.name != "classifier.weight"; });
  EXPECT_THAT(error_of([&] { Checkpoint::load(tmp2.path()); }), HasSubstr("classifier.weight missing"));
}

TEST(Checkpoint, UnsupportedDtypeOfUsedTensor) {
  TempDir tmp;
  write_variant(tmp.path(), [](StTensor& t) {
    if (t.name == "bert.pooler.dense.bias") t.dtype = "I32";
    return true;
  });
  const auto msg = error_of([&] { Checkpoint::load(tmp.path()); });
  EXPECT_THAT(msg, HasSubstr("bert.pooler.dense.bias"));
  EXPECT_THAT(msg, HasSubstr("I32"));
}

TEST(Checkpoint, TruncatedSafetensors) {
  TempDir tmp;
  copy_text_files(tmp.path());
  const std::string full = read_file(kTiny / "model.safetensors");
  // The header length claims more bytes than the file holds.
  write_file(tmp.path() / "model.safetensors", full.substr(0, 200));
  auto msg = error_of([&] { Checkpoint::load(tmp.path()); });
  EXPECT_THAT(msg, HasSubstr("model.safetensors"));
  EXPECT_THAT(msg, HasSubstr("truncated"));
  // Header intact, data cut short.
  write_file(tmp.path() / "model.safetensors", full.substr(0, full.size() - 100));
  msg = error_of([&] { Checkpoint::load(tmp.path()); });
  EXPECT_THAT(msg, HasSubstr("out of range"));
  // Too short to hold even the length.
  write_file(tmp.path() / "model.safetensors", "abc");
  EXPECT_THAT(error_of([&] { Checkpoint::load(tmp.path()); }), HasSubstr("not a safetensors file"));
}

TEST(Checkpoint, OverlappingAndInconsistentSafetensors) {
  TempDir tmp;
  copy_text_files(tmp.path());
  auto write_header = [&](const nlohmann::json& h, std::size_t data_bytes) {
    const std::string s = h.dump();
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((s.size() >> (8 * i)) & 0xff);
    write_file(tmp.path() / "model.safetensors", out + s + std::string(data_bytes, '\0'));
  };
  write_header({{"a", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {0, 16}}}},
                {"b", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {8, 24}}}}},
               24);
  EXPECT_THAT(error_of([&] { Checkpoint::load(tmp.path()); }), HasSubstr("overlap"));
  write_header({{"a", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {0, 12}}}}}, 16);
  EXPECT_THAT(error_of([&] { Checkpoint::load(tmp.path()); }), HasSubstr("needs 16"));
  write_header({{"a", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {16, 0}}}}}, 16);
  EXPECT_THAT(error_of([&] { Checkpoint::load(tmp.path()); }), HasSubstr("out of range"));
}

std::string u16_bytes(const std::vector<std::uint16_t>& v) {
  std::string s;
  for (auto x : v) {
    s.push_back(static_cast<char>(x & 0xff));
    s.push_back(static_cast<char>(x >> 8));
  }
  return s;
}

TEST(Checkpoint, Float16AndBFloat16AreWidenedExactly) {
  // Half-precision bit patterns and their exact values, including subnormals and -0 (the non-finite
  // ones are refused by the loader: NonFiniteWeightsAreRefused; their widening is checked below).
  const std::vector<std::pair<std::uint16_t, float>> halfs = {
      {0x0000, 0.0f},          {0x8000, -0.0f},
      {0x3c00, 1.0f},          {0xc000, -2.0f},
      {0x3555, 0.333251953125f}, {0x7bff, 65504.0f},
      {0x0400, std::ldexp(1.0f, -14)}, {0x0001, std::ldexp(1.0f, -24)},
      {0x03ff, std::ldexp(1023.0f, -24)}, {0x8201, -std::ldexp(513.0f, -24)},
  };
  const std::vector<std::pair<std::uint16_t, float>> bfloats = {
      {0x3f80, 1.0f}, {0xc0a0, -5.0f}, {0x3eaa, 0.33203125f}, {0x0001, std::ldexp(1.0f, -133)},
      {0x7f7f, 0x1.fep127f}, {0x8000, -0.0f},
  };
  TempDir tmp;
  copy_text_files(tmp.path());
  std::vector<StTensor> ts;
  for (const auto& [name, ref] : named(reference().weights())) {
    const bool bf = name.find("encoder.layer.1.") != std::string::npos;  // mix: layer 1 in bf16
    const auto& table = bf ? bfloats : halfs;
    std::vector<std::uint16_t> v(ref->numel());
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = table[(i + name.size()) % table.size()].first;
    ts.push_back({name, bf ? "BF16" : "F16", ref->shape, u16_bytes(v)});
  }
  write_file(tmp.path() / "model.safetensors", safetensors_bytes(ts));
  const Checkpoint cp = Checkpoint::load(tmp.path());
  std::size_t checked = 0;
  for (const auto& [name, ref] : named(cp.weights())) {
    const bool bf = name.find("encoder.layer.1.") != std::string::npos;
    const auto& table = bf ? bfloats : halfs;
    for (std::size_t i = 0; i < ref->numel(); ++i) {
      const float want = table[(i + name.size()) % table.size()].second;
      ASSERT_EQ(std::memcmp(&ref->data[i], &want, 4), 0) << name << "[" << i << "] = " << ref->data[i]
                                                          << ", expected " << want;
      ++checked;
    }
  }
  EXPECT_GT(checked, 1000u);
  EXPECT_EQ(senti::model::half_to_float(0x3c01), 1.0f + std::ldexp(1.0f, -10));
  constexpr float kInf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(senti::model::half_to_float(0x7c00), kInf);
  EXPECT_EQ(senti::model::half_to_float(0xfc00), -kInf);
  EXPECT_TRUE(std::isnan(senti::model::half_to_float(0x7e00)));
  EXPECT_EQ(senti::model::bfloat16_to_float(0x7f80), kInf);
  EXPECT_TRUE(std::isnan(senti::model::bfloat16_to_float(0xffc1)));
}

TEST(Checkpoint, NonFiniteWeightsAreRefused) {
  // fp32 NaN, fp32 -inf, fp16 inf and an fp64 value beyond float's range: each refused, naming the
  // tensor and the element.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  struct Case {
    std::string tensor, dtype, want;
  };
  for (const Case& c : {Case{"bert.encoder.layer.0.attention.self.key.weight", "F32", "holds NaN at [2, 5]"},
                        Case{"classifier.bias", "F32", "holds an infinity at [1]"},
                        Case{"bert.embeddings.LayerNorm.weight", "F16", "holds an infinity at [3]"},
                        Case{"bert.pooler.dense.weight", "F64", "holds an infinity at [0, 7]"}}) {
    SCOPED_TRACE(c.tensor + " " + c.dtype);
    TempDir tmp;
    write_variant(tmp.path(), [&](StTensor& t) {
      if (t.name != c.tensor) return true;
      std::vector<float> v(t.bytes.size() / 4);
      std::memcpy(v.data(), t.bytes.data(), t.bytes.size());
      if (c.dtype == "F32") {
        v[c.tensor == "classifier.bias" ? 1 : 2 * 8 + 5] = c.tensor == "classifier.bias" ? -inf : nan;
      } else if (c.dtype == "F16") {
        std::vector<std::uint16_t> h(v.size(), 0x3c00);
        h[3] = 0x7c00;
        t.bytes = u16_bytes(h);
      } else {
        std::vector<double> d(v.begin(), v.end());
        d[7] = 1e300;  // finite as a double, an infinity as a float
        t.bytes.assign(reinterpret_cast<const char*>(d.data()), d.size() * sizeof(double));
      }
      if (c.dtype == "F32") t.bytes = f32_bytes(v.data(), v.size());
      t.dtype = c.dtype;
      return true;
    });
    const auto msg = error_of([&] { Checkpoint::load(tmp.path()); });
    EXPECT_THAT(msg, HasSubstr("model.safetensors: tensor " + c.tensor + " " + c.want)) << msg;
    EXPECT_THAT(msg, HasSubstr("non-finite weights")) << msg;
  }
}

// ---- pytorch_model.bin ----

// Loads the fixture `file` as pytorch_model.bin of a fresh folder.
Checkpoint load_bin(const TempDir& tmp, const std::string& file) {
  copy_text_files(tmp.path());
  fs::copy_file(kTiny / file, tmp.path() / "pytorch_model.bin");
  return Checkpoint::load(tmp.path());
}

TEST(TorchCheckpoint, ZipFloat32MatchesSafetensorsBitForBit) {
  TempDir tmp;
  const Checkpoint cp = load_bin(tmp, "pytorch_model.bin");
  EXPECT_EQ(cp.weights_file(), "pytorch_model.bin");
  expect_same_weights(cp, reference());
}

TEST(TorchCheckpoint, ZipFloat16IsWidenedToTheSameWeights) {
  TempDir tmp;
  expect_same_weights(load_bin(tmp, "pytorch_model_fp16.bin"), reference());
}

TEST(TorchCheckpoint, ZipBFloat16IsWidenedToTheSameWeights) {
  TempDir tmp;
  expect_same_weights(load_bin(tmp, "pytorch_model_bf16.bin"), reference());
}

TEST(TorchCheckpoint, LegacyFormatMatches) {
  TempDir tmp;
  expect_same_weights(load_bin(tmp, "pytorch_model_legacy.bin"), reference());
}

// ---- float64 weights and sharded checkpoints (fixtures by tools/make_loader_fixtures.py) ----

TEST(TorchCheckpoint, ZipFloat64IsNarrowedToTheSameWeights) {
  TempDir tmp;
  expect_same_weights(load_bin(tmp, "pytorch_model_fp64.bin"), reference());
}

TEST(SafetensorsCheckpoint, Float64IsNarrowedToTheSameWeights) {
  TempDir tmp;
  copy_text_files(tmp.path());
  fs::copy_file(kTiny / "model_fp64.safetensors", tmp.path() / "model.safetensors");
  expect_same_weights(Checkpoint::load(tmp.path()), reference());
}

// A folder with config.json, vocab.txt and the shards + index of fixture folder `shards`.
void make_sharded(const TempDir& tmp, const std::string& shards) {
  copy_text_files(tmp.path());
  for (const auto& f : fs::directory_iterator(kTiny / shards)) fs::copy_file(f.path(), tmp.path() / f.path().filename());
}

TEST(ShardedCheckpoint, SafetensorsShardsLoadAllTensors) {
  TempDir tmp;
  make_sharded(tmp, "sharded_safetensors");
  const Checkpoint cp = Checkpoint::load(tmp.path());
  EXPECT_EQ(cp.weights_file(), "model.safetensors.index.json");
  expect_same_weights(cp, reference());
}

TEST(ShardedCheckpoint, TorchBinShardsLoadAllTensors) {
  TempDir tmp;
  make_sharded(tmp, "sharded_bin");
  const Checkpoint cp = Checkpoint::load(tmp.path());
  EXPECT_EQ(cp.weights_file(), "pytorch_model.bin.index.json");
  expect_same_weights(cp, reference());
}

TEST(ShardedCheckpoint, MissingShardOrTensorIsNamed) {
  TempDir tmp;
  make_sharded(tmp, "sharded_safetensors");
  fs::remove(tmp.path() / "model-00002-of-00002.safetensors");
  auto msg = error_of([&] { Checkpoint::load(tmp.path()); });
  EXPECT_THAT(msg, HasSubstr("model-00002-of-00002.safetensors"));
  EXPECT_THAT(msg, HasSubstr("missing"));

  TempDir tmp2;
  make_sharded(tmp2, "sharded_safetensors");
  auto index = nlohmann::json::parse(read_file(tmp2.path() / "model.safetensors.index.json"));
  index["weight_map"]["classifier.bias"] = "../model.safetensors";
  write_file(tmp2.path() / "model.safetensors.index.json", index.dump());
  msg = error_of([&] { Checkpoint::load(tmp2.path()); });
  EXPECT_THAT(msg, HasSubstr("not a file name inside the model folder"));
}

// A random file given where a model belongs: named as neither kind of model.
TEST(Checkpoint, RandomFileIsNotAModel) {
  TempDir tmp;
  write_file(tmp.path() / "model.senti", "this is not a model at all");
  const auto msg = error_of([&] { Checkpoint::load(tmp.path() / "model.senti"); });
  EXPECT_THAT(msg, HasSubstr("not a senti compiled model"));
  EXPECT_THAT(msg, HasSubstr("nor a checkpoint folder"));
  EXPECT_THAT(msg, ::testing::Not(HasSubstr("does not exist")));
}

TEST(TorchCheckpoint, SafetensorsPreferredOverBin) {
  TempDir tmp;
  copy_text_files(tmp.path());
  fs::copy_file(kTiny / "model.safetensors", tmp.path() / "model.safetensors");
  write_file(tmp.path() / "pytorch_model.bin", "garbage");
  EXPECT_EQ(Checkpoint::load(tmp.path()).weights_file(), "model.safetensors");
}

TEST(TorchCheckpoint, NonContiguousTensorRefused) {
  TempDir tmp;
  const auto msg = error_of([&] { load_bin(tmp, "pytorch_model_noncontig.bin"); });
  EXPECT_THAT(msg, HasSubstr("classifier.weight"));
  EXPECT_THAT(msg, HasSubstr("not contiguous"));
}

TEST(TorchCheckpoint, TruncatedAndGarbageFilesRefused) {
  const std::string full = read_file(kTiny / "pytorch_model.bin");
  const std::string legacy = read_file(kTiny / "pytorch_model_legacy.bin");
  TempDir tmp;
  copy_text_files(tmp.path());
  const auto bin = tmp.path() / "pytorch_model.bin";
  auto load_msg = [&](const std::string& bytes) {
    write_file(bin, bytes);
    return error_of([&] { Checkpoint::load(tmp.path()); });
  };
  auto msg = load_msg(full.substr(0, full.size() / 2));
  EXPECT_THAT(msg, HasSubstr("pytorch_model.bin"));
  EXPECT_THAT(msg, HasSubstr("truncated"));
  msg = load_msg(full.substr(0, full.size() - 10));  // end of central directory cut
  EXPECT_THAT(msg, HasSubstr("pytorch_model.bin"));
  msg = load_msg(std::string("this is not a checkpoint at all, just some text\n"));
  EXPECT_THAT(msg, HasSubstr("not a PyTorch checkpoint"));
  msg = load_msg(std::string("PK\x03\x04", 4) + std::string(100, 'x'));
  EXPECT_THAT(msg, HasSubstr("zip"));
  msg = load_msg(legacy.substr(0, legacy.size() - 50));
  EXPECT_THAT(msg, HasSubstr("truncated"));
  msg = load_msg(legacy.substr(0, 300));
  EXPECT_THAT(msg, HasSubstr("legacy"));
  msg = load_msg(std::string());
  EXPECT_THAT(msg, HasSubstr("not a PyTorch checkpoint"));
}

TEST(TorchCheckpoint, CompressedMemberRefused) {
  std::string bytes = read_file(kTiny / "pytorch_model.bin");
  // Mark the central directory entry of a data member as deflated (method 8).
  bool patched = false;
  for (std::size_t pos = bytes.find("PK\x01\x02"); pos != std::string::npos; pos = bytes.find("PK\x01\x02", pos + 4)) {
    const std::size_t name_len = static_cast<unsigned char>(bytes[pos + 28]) |
                                 static_cast<std::size_t>(static_cast<unsigned char>(bytes[pos + 29])) << 8;
    const std::string name = bytes.substr(pos + 46, name_len);
    if (name.find("/data/") != std::string::npos) {
      bytes[pos + 10] = 8;
      patched = true;
    }
  }
  ASSERT_TRUE(patched);
  TempDir tmp;
  copy_text_files(tmp.path());
  write_file(tmp.path() / "pytorch_model.bin", bytes);
  const auto msg = error_of([&] { Checkpoint::load(tmp.path()); });
  EXPECT_THAT(msg, HasSubstr("compressed"));
  EXPECT_THAT(msg, HasSubstr("/data/"));
}

TEST(TorchCheckpoint, WrongShapeInBin) {
  // The same config with a wider intermediate layer does not fit the fixture's tensors.
  TempDir tmp;
  fs::copy_file(kTiny / "vocab.txt", tmp.path() / "vocab.txt");
  fs::copy_file(kTiny / "pytorch_model.bin", tmp.path() / "pytorch_model.bin");
  write_file(tmp.path() / "config.json", tiny_config([](auto& j) { j["intermediate_size"] = 32; }));
  const auto msg = error_of([&] { Checkpoint::load(tmp.path()); });
  EXPECT_THAT(msg, HasSubstr("bert.encoder.layer.0.intermediate.dense.weight has shape [16, 8], expected [32, 8]"));
}

// ---- the pickle machine on its own ----

std::vector<std::byte> from_hex(const std::string& hex) {
  std::vector<std::byte> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::byte>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

using senti::model::PyObject;
using senti::model::run_pickle;

TEST(Pickle, Protocol4Values) {
  // pickle.dumps({'a': [1, -2, 3.5, None, True, False, -300, 2**40], 'b': (1,2,3), 'c': 'ééé'}, protocol=4)
  const auto bytes = from_hex(
      "80049546000000000000007d94288c0161945d94284b014afeffffff47400c0000000000004e88894ad4feffff8a0600000000"
      "0001658c0162944b014b024b0387948c0163948c06c3a9c3a9c3a994752e");
  std::size_t pos = 0;
  const auto v = run_pickle(bytes, pos, nullptr, "test");
  EXPECT_EQ(pos, bytes.size());
  ASSERT_EQ(v->kind, PyObject::Kind::kDict);
  ASSERT_EQ(v->dict.size(), 3u);
  EXPECT_EQ(v->dict[0].first->s, "a");
  const auto& list = v->dict[0].second->items;
  ASSERT_EQ(list.size(), 8u);
  EXPECT_EQ(list[0]->i, 1);
  EXPECT_EQ(list[1]->i, -2);
  EXPECT_EQ(list[2]->f, 3.5);
  EXPECT_EQ(list[3]->kind, PyObject::Kind::kNone);
  EXPECT_EQ(list[4]->i, 1);
  EXPECT_EQ(list[5]->i, 0);
  EXPECT_EQ(list[6]->i, -300);
  EXPECT_EQ(list[7]->i, std::int64_t{1} << 40);
  ASSERT_EQ(v->dict[1].second->kind, PyObject::Kind::kTuple);
  EXPECT_EQ(v->dict[1].second->items.size(), 3u);
  EXPECT_EQ(v->dict[2].second->s, "ééé");
}

TEST(Pickle, Protocol2Values) {
  const auto bytes = from_hex(
      "80027d71002858010000006171015d7102284b014afeffffff47400c0000000000004e88894ad4feffff8a06000000000001655801"
      "0000006271034b014b024b0387710458010000006371055806000000c3a9c3a9c3a97106752e");
  std::size_t pos = 0;
  const auto v = run_pickle(bytes, pos, nullptr, "test");
  ASSERT_EQ(v->dict.size(), 3u);
  EXPECT_EQ(v->dict[0].second->items[6]->i, -300);
  EXPECT_EQ(v->dict[2].second->s, "ééé");
}

// Found by checkpoint_fuzzer (LeakSanitizer): objects that contain themselves through the memo were
// shared_ptr cycles, leaked on every load. Refused now, and freed whether the pickle succeeds or fails.
TEST(Pickle, ReferenceCyclesAreRefusedAndFreed) {
  struct Case {
    std::string hex, error;
  };
  for (const Case& c : {
           Case{"8002" "5d" "7100" "6800" "61" "2e", "reference cycle"},           // l = []; l.append(l)
           Case{"8002" "7d" "7100" "8c0161" "6800" "73" "2e", "reference cycle"},  // d = {}; d['a'] = d
           Case{"8002" "5d" "7100" "6800" "85" "61" "2e", "reference cycle"},      // l.append((l,))
           // The cycle left only in the memo (BUILD drops it from the stack); the pickle returns None.
           Case{"8002" "4e" "5d" "7100" "6800" "61" "62" "2e", "reference cycle"},
           // A cycle, then a pickle that fails for another reason: still freed (LeakSanitizer checks).
           Case{"8002" "5d" "7100" "6800" "61" "4e" "2e", "unbalanced stack"},
       }) {
    SCOPED_TRACE(c.hex);
    const auto bytes = from_hex(c.hex);
    std::size_t pos = 0;
    EXPECT_THAT(error_of([&] { run_pickle(bytes, pos, nullptr, "cycle.pkl"); }), HasSubstr(c.error));
  }
}

// A million lists, each appended to the one below it: freeing that chain recursively overflowed the
// stack. Refused when complete, freed flat when cut short.
TEST(Pickle, DeepNestingIsRefusedAndFreedWithoutRecursion) {
  constexpr std::size_t kDepth = 1000000;
  std::vector<std::byte> deep = from_hex("8002");
  deep.insert(deep.end(), kDepth, std::byte{']'});
  deep.insert(deep.end(), kDepth - 1, std::byte{'a'});
  std::vector<std::byte> cut = deep;  // no STOP: fails as truncated, with the chain built
  deep.push_back(std::byte{'.'});
  std::size_t pos = 0;
  EXPECT_THAT(error_of([&] { run_pickle(deep, pos, nullptr, "deep.pkl"); }), HasSubstr("nested deeper than 64"));
  pos = 0;
  EXPECT_THAT(error_of([&] { run_pickle(cut, pos, nullptr, "deep.pkl"); }), HasSubstr("truncated"));
  // 64 levels are fine.
  std::vector<std::byte> ok = from_hex("8002");
  ok.insert(ok.end(), 64, std::byte{']'});
  ok.insert(ok.end(), 63, std::byte{'a'});
  ok.push_back(std::byte{'.'});
  pos = 0;
  const auto v = run_pickle(ok, pos, nullptr, "ok.pkl");
  std::size_t depth = 0;
  for (const PyObject* o = v.get(); o != nullptr; o = o->items.empty() ? nullptr : o->items[0].get()) ++depth;
  EXPECT_EQ(depth, 64u);
}

TEST(Pickle, RefusesUnknownGlobalsAndOpcodes) {
  // GLOBAL os.system
  const auto bytes = from_hex("800263" "6f730a73797374656d0a" "2e");
  std::size_t pos = 0;
  EXPECT_THAT(error_of([&] { run_pickle(bytes, pos, nullptr, "evil.pkl"); }), HasSubstr("unsupported global os.system"));
  const auto ext = from_hex("8002" "4201000000" "2e");  // BINBYTES
  pos = 0;
  const auto msg = error_of([&] { run_pickle(ext, pos, nullptr, "x.pkl"); });
  EXPECT_THAT(msg, HasSubstr("unsupported pickle opcode 0x42"));
  EXPECT_THAT(msg, HasSubstr("x.pkl"));
  const auto cut = from_hex("80025801000000");  // BINUNICODE running past the end
  pos = 0;
  EXPECT_THAT(error_of([&] { run_pickle(cut, pos, nullptr, "x.pkl"); }), HasSubstr("truncated"));
}

}  // namespace
