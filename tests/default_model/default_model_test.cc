// The committed default model: it loads, says how its labels read in Chinese, is accurate on a sample
// of the committed dev split (data/sentiment/dev.jsonl), and its logits match
// transformers' (tests/data/goldens/senti_zh_sentiment_logits.json, from tools/train/make_default_goldens.py).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/golden_util.h"
#include "senti/classifier.h"

namespace senti {
namespace {

constexpr float kLogitTolerance = 1e-4f;
// The exported model scored 0.9079 on the whole dev split (3,246 texts, transformers fp32, max length
// 512; tools/train/README.md); the sample below (every 10th line, 325 texts) measured 0.9169 (298/325).
// The floor sits a few points under, so only a broken model or loader fails it.
constexpr double kSampleAccuracyFloor = 0.87;

// precision "fp32" for the goldens (they are transformers' fp32 logits); "auto" is what users get
// (int8 or bf16 on hosts that have them), and must hold the accuracy floor too.
Classifier& model(const std::string& precision = "fp32") {
  static std::map<std::string, Classifier> cache;
  auto it = cache.find(precision);
  if (it == cache.end()) {
    ClassifierOptions options;
    // One thread: CI machines are shared, and oversubscribed OpenMP threads only slow this down.
    options.num_threads = 1;
    options.precision = precision;
    it = cache.emplace(precision, Classifier::load(SENTI_DEFAULT_MODEL_DIR, options)).first;
  }
  return it->second;
}

TEST(DefaultModel, HasSentimentLabelsWithChineseDisplayNames) {
  const BertConfig& c = model().config();
  EXPECT_EQ(c.labels, (std::vector<std::string>{"negative", "positive"}));
  EXPECT_EQ(c.label_display, (std::vector<std::string>{"负面", "正面"}));
}

class DefaultModelAccuracy : public ::testing::TestWithParam<std::string> {};

TEST_P(DefaultModelAccuracy, AccurateOnDevSample) {
  const auto path = std::filesystem::path(SENTI_DATA_DIR) / "sentiment/dev.jsonl";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot open " << path;
  std::vector<std::string> texts;
  std::vector<std::size_t> labels;
  std::string line;
  for (std::size_t i = 0; std::getline(in, line); ++i) {
    if (i % 10 != 0) continue;
    const auto j = nlohmann::json::parse(line);
    texts.push_back(j.at("text").get<std::string>());
    labels.push_back(j.at("label").get<std::size_t>());
  }
  ASSERT_GE(texts.size(), 300u);
  std::size_t correct = 0;
  std::map<std::size_t, std::size_t> predicted;
  for (std::size_t start = 0; start < texts.size(); start += 64) {
    const std::vector<std::string> batch(texts.begin() + static_cast<std::ptrdiff_t>(start),
                                         texts.begin() + static_cast<std::ptrdiff_t>(std::min(texts.size(), start + 64)));
    const auto predictions = model(GetParam()).classify(batch);
    for (std::size_t i = 0; i < predictions.size(); ++i) {
      correct += predictions[i].label_id == labels[start + i];
      ++predicted[predictions[i].label_id];
    }
  }
  const double accuracy = static_cast<double>(correct) / static_cast<double>(texts.size());
  std::printf("default model (%s, %s): %zu/%zu dev sample texts correct (accuracy %.4f)\n", GetParam().c_str(),
              model(GetParam()).backend_name().c_str(), correct, texts.size(), accuracy);
  EXPECT_GE(accuracy, kSampleAccuracyFloor);
  // A model that answers one class for everything cannot pass (the sample is about half positive).
  EXPECT_GT(predicted[0], texts.size() / 4);
  EXPECT_GT(predicted[1], texts.size() / 4);
}

INSTANTIATE_TEST_SUITE_P(Precisions, DefaultModelAccuracy, ::testing::Values("fp32", "auto"),
                         [](const auto& param_info) { return param_info.param; });

TEST(DefaultModel, LogitsMatchTransformers) {
  const auto golden = test::read_json(test::test_data_dir() / "goldens/senti_zh_sentiment_logits.json");
  ASSERT_EQ(model().config().labels, golden.at("labels").get<std::vector<std::string>>());
  const auto& records = golden.at("records");
  ASSERT_GE(records.size(), 50u);
  float worst = 0.f;
  std::size_t truncated = 0;
  std::map<std::string, const nlohmann::json*> by_id;
  for (const auto& r : records) {
    const std::string id = r.at("id").get<std::string>();
    by_id[id] = &r;
    const Encoding e = model().tokenizer().encode(test::record_text(r), std::nullopt, r.at("max_length").get<std::size_t>());
    ASSERT_EQ(e.input_ids, r.at("input_ids").get<std::vector<int32_t>>()) << id;
    EXPECT_EQ(e.truncated, r.at("truncated").get<bool>()) << id;
    truncated += e.truncated;
    const auto p = model().classify(std::vector<Encoding>{e}).at(0);
    const auto want = r.at("logits").get<std::vector<float>>();
    ASSERT_EQ(p.logits.size(), want.size()) << id;
    for (std::size_t k = 0; k < want.size(); ++k) {
      const float diff = std::fabs(p.logits[k] - want[k]);
      EXPECT_LE(diff, kLogitTolerance) << id << " logit " << k;
      worst = std::max(worst, diff);
    }
    if (std::fabs(want[0] - want[1]) > 2 * kLogitTolerance) {
      EXPECT_EQ(p.label_id, want[1] > want[0] ? 1u : 0u) << id;
    }
  }
  EXPECT_GT(truncated, 0u) << "the goldens must exercise truncation";
  std::printf("default model: %zu golden records, max |logit diff| vs transformers %.3g\n", records.size(),
              static_cast<double>(worst));
  // Padded mixed-length batches in transformers == one packed batch here.
  for (const auto& b : golden.at("batches")) {
    std::vector<Encoding> encodings;
    for (const auto& member : b.at("members")) {
      const auto& r = *by_id.at(member.get<std::string>());
      encodings.push_back(model().tokenizer().encode(test::record_text(r), std::nullopt, r.at("max_length").get<std::size_t>()));
    }
    const auto batched = model().classify(encodings);
    const auto want = b.at("logits").get<std::vector<std::vector<float>>>();
    ASSERT_EQ(batched.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i)
      for (std::size_t k = 0; k < want[i].size(); ++k)
        EXPECT_LE(std::fabs(batched[i].logits[k] - want[i][k]), kLogitTolerance) << b.at("id") << "/" << i;
  }
}

}  // namespace
}  // namespace senti
