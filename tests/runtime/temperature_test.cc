// "senti_temperature" in config.json: scores are softmax(logits / T), logits and argmax unchanged.
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/golden_util.h"
#include "senti/classifier.h"
#include "senti/error.h"
#include "senti/model_config.h"

namespace senti {
namespace {

const std::vector<std::string> kTexts = {"这件衣服的质量真的太棒了，非常满意！", "物流速度太慢了，等了半个多月，差评。",
                                         "一般", "收到货后发现有破损，体验极差。"};

// The tiny test model copied with its config.json's "senti_temperature" set to `t` (absent when t <= 0).
std::vector<Prediction> classify_with_temperature(const test::TempDir& dir, double t) {
  test::copy_model_without(test::test_data_dir() / "models/tiny", dir.path(), {});
  nlohmann::json config;
  std::ifstream(dir.path() / "config.json") >> config;
  if (t > 0) config["senti_temperature"] = t;
  std::ofstream(dir.path() / "config.json") << config.dump(1);
  ClassifierOptions options;
  options.num_threads = 1;
  // Not auto: the two loads could measure their way to different precisions (seen under ASan), and
  // the logits of both must be the same.
  options.precision = "fp32";
  return Classifier::load(dir.path(), options).classify(kTexts);
}

TEST(Temperature, ScalesScoresNotLogitsOrArgmax) {
  test::TempDir plain_dir("temperature-plain"), hot_dir("temperature-hot");
  const auto plain = classify_with_temperature(plain_dir, 0);
  const auto hot = classify_with_temperature(hot_dir, 2.5);
  ASSERT_EQ(plain.size(), hot.size());
  bool any_score_changed = false;
  for (std::size_t i = 0; i < plain.size(); ++i) {
    SCOPED_TRACE(kTexts[i]);
    EXPECT_EQ(plain[i].logits, hot[i].logits);
    EXPECT_EQ(plain[i].label_id, hot[i].label_id);
    // softmax(logits / 2.5) computed here from the raw logits
    const auto& z = hot[i].logits;
    double m = z[0];
    for (float v : z) m = std::max(m, static_cast<double>(v));
    double sum = 0;
    for (float v : z) sum += std::exp((v - m) / 2.5);
    for (std::size_t k = 0; k < z.size(); ++k) {
      EXPECT_NEAR(hot[i].scores[k], std::exp((z[k] - m) / 2.5) / sum, 1e-6);
    }
    // a temperature above 1 moves the top score towards uniform
    EXPECT_LE(hot[i].score, plain[i].score + 1e-7f);
    if (std::fabs(hot[i].score - plain[i].score) > 1e-4f) any_score_changed = true;
  }
  EXPECT_TRUE(any_score_changed);
}

TEST(Temperature, ConfigRejectsNonsense) {
  const std::string base = R"({"vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
                                "intermediate_size": 16, "id2label": {"0": "negative", "1": "positive"})";
  EXPECT_FLOAT_EQ(BertConfig::from_json_string(base + "}", "t").score_temperature, 1.f);
  EXPECT_FLOAT_EQ(BertConfig::from_json_string(base + R"(, "senti_temperature": 1.7})", "t").score_temperature, 1.7f);
  for (const char* bad : {"0", "-1", "\"2\"", "1e9"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(BertConfig::from_json_string(base + ", \"senti_temperature\": " + bad + "}", "t"), ModelError);
  }
}

}  // namespace
}  // namespace senti
