// Compares BertTokenizer with the Hugging Face goldens of tools/make_tokenizer_goldens.py.
#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "senti/tokenizer.h"
#include "tokenizer/test_util.h"

namespace senti {
namespace {

using nlohmann::json;
using testing::chinese_vocab;
using testing::ids_str;

constexpr std::size_t kNoTruncation = std::numeric_limits<std::size_t>::max();
constexpr int kMaxReported = 5;

std::size_t utf8_length(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::vector<json> read_jsonl(const std::filesystem::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::vector<json> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json j = json::parse(line);
    if (j.contains("header")) continue;
    rows.push_back(std::move(j));
  }
  return rows;
}

std::vector<std::string> read_texts(const std::string& split) {
  const auto path = std::filesystem::path(SENTI_DATA_DIR) / "sentiment" / (split + ".jsonl");
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::vector<std::string> texts;
  std::string line;
  while (std::getline(in, line)) texts.push_back(json::parse(line).at("text").get<std::string>());
  return texts;
}

TEST(TokenizerGolden, SentimentDevAndTestMatchHuggingFace) {
  const BertTokenizer tok(chinese_vocab(), TokenizerOptions{});
  const auto rows = read_jsonl(std::filesystem::path(SENTI_TEST_DATA_DIR) / "tokenizer/sentiment_ids.jsonl");
  std::map<std::string, std::vector<std::string>> texts{{"dev", read_texts("dev")}, {"test", read_texts("test")}};
  ASSERT_EQ(rows.size(), texts["dev"].size() + texts["test"].size()) << "goldens do not cover dev+test";
  int failures = 0;
  for (const auto& row : rows) {
    const auto& split = row.at("f").get<std::string>();
    const auto n = row.at("n").get<std::size_t>();
    ASSERT_LT(n, texts[split].size());
    const std::string& text = texts[split][n];
    const auto expected = row.at("ids").get<std::vector<int32_t>>();
    const Encoding enc = tok.encode(text, std::nullopt, kNoTruncation);
    if (enc.input_ids != expected) {
      if (++failures <= kMaxReported) {
        ADD_FAILURE() << split << ":" << n << " text: " << text << "\n  expected: " << ids_str(expected)
                      << "\n  actual:   " << ids_str(enc.input_ids);
      }
    }
    EXPECT_EQ(enc.token_type_ids, std::vector<int32_t>(expected.size(), 0));
    EXPECT_FALSE(enc.truncated);
  }
  EXPECT_EQ(failures, 0) << failures << " of " << rows.size() << " texts differ";
}

TokenizerOptions options_from(const json& cfg) {
  TokenizerOptions opt;
  if (cfg.contains("do_lower_case")) opt.do_lower_case = cfg["do_lower_case"].get<bool>();
  if (cfg.contains("strip_accents") && !cfg["strip_accents"].is_null()) {
    opt.strip_accents = cfg["strip_accents"].get<bool>();
  }
  if (cfg.contains("tokenize_chinese_chars")) opt.tokenize_chinese_chars = cfg["tokenize_chinese_chars"].get<bool>();
  return opt;
}

TEST(TokenizerGolden, HardCasesMatchHuggingFace) {
  const auto rows = read_jsonl(std::filesystem::path(SENTI_TEST_DATA_DIR) / "tokenizer/hard_cases.jsonl");
  ASSERT_GE(rows.size(), 200u);
  int failures = 0;
  std::size_t pairs = 0, truncations = 0, with_tokens = 0;
  std::map<std::string, BertTokenizer> by_cfg;
  for (const auto& row : rows) {
    const std::string key = row.at("cfg").dump();
    auto it = by_cfg.find(key);
    if (it == by_cfg.end()) it = by_cfg.emplace(key, BertTokenizer(chinese_vocab(), options_from(row["cfg"]))).first;
    const BertTokenizer& tok = it->second;
    const auto name = row.at("name").get<std::string>();
    const auto text = row.at("text").get<std::string>();
    std::optional<std::string> pair;
    if (row.contains("pair")) pair = row["pair"].get<std::string>(), ++pairs;
    std::size_t max_length = kNoTruncation;
    if (row.at("call").contains("max_length")) max_length = row["call"]["max_length"].get<std::size_t>(), ++truncations;
    const auto expected = row.at("ids").get<std::vector<int32_t>>();
    const auto expected_types = row.at("type_ids").get<std::vector<int32_t>>();

    const Encoding enc = pair ? tok.encode(text, std::string_view(*pair), max_length)
                              : tok.encode(text, std::nullopt, max_length);
    bool ok = enc.input_ids == expected && enc.token_type_ids == expected_types;
    if (row.contains("tokens")) {
      ++with_tokens;
      ok = ok && tok.tokenize(text) == row["tokens"].get<std::vector<std::string>>();
    }
    if (!ok && ++failures <= kMaxReported) {
      ADD_FAILURE() << name << " text: " << json(text).dump() << (pair ? " pair: " + json(*pair).dump() : "")
                    << " cfg: " << row["cfg"].dump() << " call: " << row["call"].dump()
                    << "\n  expected: " << ids_str(expected) << " types " << ids_str(expected_types)
                    << "\n  actual:   " << ids_str(enc.input_ids) << " types " << ids_str(enc.token_type_ids);
    }
  }
  EXPECT_EQ(failures, 0) << failures << " of " << rows.size() << " hard cases differ";
  EXPECT_GT(pairs, 100u);
  EXPECT_GT(truncations, 100u);
  EXPECT_GT(with_tokens, 100u);
}

TEST(TokenizerGolden, OffsetsMatchHuggingFaceOffsetMapping) {
  const auto rows = read_jsonl(std::filesystem::path(SENTI_TEST_DATA_DIR) / "tokenizer/hard_cases.jsonl");
  int failures = 0;
  std::size_t checked = 0;
  std::map<std::string, BertTokenizer> by_cfg;
  for (const auto& row : rows) {
    if (!row.contains("offsets")) continue;
    const std::string key = row.at("cfg").dump();
    auto it = by_cfg.find(key);
    if (it == by_cfg.end()) it = by_cfg.emplace(key, BertTokenizer(chinese_vocab(), options_from(row["cfg"]))).first;
    const auto text = row.at("text").get<std::string>();
    const auto spans = it->second.tokenize_with_offsets(text);
    const auto ids = row.at("ids").get<std::vector<int32_t>>();  // [CLS] ... [SEP]
    const auto offsets = row.at("offsets").get<std::vector<std::vector<std::size_t>>>();
    bool ok = spans.size() + 2 == ids.size() && offsets.size() == spans.size();
    for (std::size_t i = 0; ok && i < spans.size(); ++i) {
      ok = spans[i].id == ids[i + 1] && spans[i].start == offsets[i][0] && spans[i].end == offsets[i][1];
    }
    ++checked;
    if (!ok && ++failures <= kMaxReported) {
      std::string got;
      for (const auto& s : spans) got += std::to_string(s.id) + "@" + std::to_string(s.start) + "-" + std::to_string(s.end) + " ";
      ADD_FAILURE() << row.at("name").get<std::string>() << " text: " << json(text).dump() << "\n  expected offsets "
                    << row["offsets"].dump() << "\n  actual: " << got;
    }
  }
  EXPECT_EQ(failures, 0) << failures << " of " << checked << " texts differ";
  EXPECT_GT(checked, 100u);
}

TEST(TokenizerGolden, OffsetTokensAreTheEncodedTokensOnEverySentimentText) {
  const BertTokenizer tok(chinese_vocab(), TokenizerOptions{});
  int failures = 0;
  for (const std::string split : {"dev", "test"}) {
    for (const std::string& text : read_texts(split)) {
      const Encoding enc = tok.encode(text, std::nullopt, kNoTruncation);
      const auto spans = tok.tokenize_with_offsets(text);
      bool ok = spans.size() + 2 == enc.input_ids.size();
      std::size_t previous_end = 0;
      const std::size_t chars = utf8_length(text);
      for (std::size_t i = 0; ok && i < spans.size(); ++i) {
        ok = spans[i].id == enc.input_ids[i + 1] && spans[i].start < spans[i].end && spans[i].end <= chars &&
             spans[i].start >= previous_end;
        previous_end = spans[i].end;
      }
      if (!ok && ++failures <= kMaxReported) ADD_FAILURE() << split << " text: " << text;
    }
  }
  EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace senti
