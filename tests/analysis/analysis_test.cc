// AnalysisPlan / analyze on the committed default model: each result is checked against the model run
// by hand on what the documented rule says it is (the sentence alone, the windows, the text without a word).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "senti/analysis.h"
#include "senti/classifier.h"
#include "senti/text_rules.h"
#include "analysis/code_points.h"

namespace senti {
namespace {

constexpr float kTolerance = 1e-4f;  // the engine's batch-composition tolerance (fp32)

Classifier& model(std::size_t max_length = 0) {
  static std::map<std::size_t, Classifier> models;
  auto it = models.find(max_length);
  if (it == models.end()) {
    ClassifierOptions options;
    options.max_length = max_length;
    options.num_threads = 1;
    it = models.emplace(max_length, Classifier::load(SENTI_DEFAULT_MODEL_DIR, options)).first;
  }
  return it->second;
}

using test::code_points;

// text[start:end] in code points, re-encoded independently of the library.
std::string slice(const std::string& text, std::size_t start, std::size_t end) {
  std::size_t cp = 0, from = std::string::npos, to = text.size();
  for (std::size_t b = 0; b <= text.size(); ++b) {
    if (b < text.size() && (static_cast<unsigned char>(text[b]) & 0xC0) == 0x80) continue;
    if (cp == start && from == std::string::npos) from = b;
    if (cp == end) {
      to = b;
      break;
    }
    ++cp;
  }
  return text.substr(from, to - from);
}

void expect_same_prediction(const Prediction& a, const Prediction& b, const std::string& what) {
  EXPECT_EQ(a.label_id, b.label_id) << what;
  ASSERT_EQ(a.scores.size(), b.scores.size()) << what;
  for (std::size_t l = 0; l < a.scores.size(); ++l) EXPECT_NEAR(a.scores[l], b.scores[l], kTolerance) << what;
}

TEST(Analysis, PlainAnalysisIsThePrediction) {
  const std::string text = "物流太慢了，但是质量很好";
  const auto a = analyze(model(), {text}, {});
  ASSERT_EQ(a.size(), 1u);
  expect_same_prediction(a[0].prediction, model().classify({text})[0], text);
  EXPECT_EQ(a[0].chunks, 1u);
  EXPECT_FALSE(a[0].explained);
  EXPECT_FALSE(a[0].by_sentence);
}

TEST(Analysis, SentenceResultsEqualPredictingEachSentenceAlone) {
  const std::string text = "物流太慢了，三天才到！但是质量很好，做工精细。\n客服态度也差。😡 总体还行吧";
  AnalysisOptions options;
  options.granularity = Granularity::sentence;
  const auto a = analyze(model(), {text}, options)[0];
  ASSERT_TRUE(a.by_sentence);
  ASSERT_EQ(a.sentences.size(), 4u);
  const auto spans = split_sentences(text);
  ASSERT_EQ(spans.size(), a.sentences.size());
  for (std::size_t i = 0; i < spans.size(); ++i) {
    const SentenceResult& s = a.sentences[i];
    EXPECT_EQ(s.start, spans[i].start);
    EXPECT_EQ(s.end, spans[i].end);
    EXPECT_EQ(s.text, slice(text, s.start, s.end));
    expect_same_prediction(s.prediction, model().classify({s.text})[0], s.text);
  }
  expect_same_prediction(a.prediction, model().classify({text})[0], "whole text");
  EXPECT_EQ(a.sentences[0].text, "物流太慢了，三天才到！");
  EXPECT_EQ(a.sentences[3].text, "😡 总体还行吧");
}

TEST(Analysis, ChunkedResultIsTheMeanOfItsWindows) {
  const std::size_t max_length = 18;  // 16 content tokens: windows at 0, 12, 24, ... and one ending at the end
  Classifier& clf = model(max_length);
  const std::string text = "这家酒店位置很好，离地铁站很近。服务态度非常差，前台爱理不理。房间还算干净，早餐一般般。";
  const auto tokens = clf.tokenizer().tokenize_with_offsets(text);
  ASSERT_GT(tokens.size(), 40u);
  AnalysisOptions options;
  options.long_text = LongText::chunk;
  const auto a = analyze(clf, {text}, options)[0];

  // The documented windows, built by hand.
  const std::size_t content = max_length - 2, stride = content * 3 / 4;
  std::vector<Encoding> windows;
  for (std::size_t from = 0;; from += stride) {
    const std::size_t start = std::min(from, tokens.size() - content);
    Encoding e;
    e.input_ids.push_back(*clf.tokenizer().vocab().find("[CLS]"));
    for (std::size_t t = start; t < start + content; ++t) e.input_ids.push_back(tokens[t].id);
    e.input_ids.push_back(*clf.tokenizer().vocab().find("[SEP]"));
    e.token_type_ids.assign(e.input_ids.size(), 0);
    windows.push_back(e);
    if (start + content >= tokens.size()) break;
  }
  ASSERT_EQ(a.chunks, windows.size());
  const auto each = clf.classify(windows);
  std::vector<float> mean(each[0].scores.size(), 0.f);
  for (const auto& p : each)
    for (std::size_t l = 0; l < mean.size(); ++l) mean[l] += p.scores[l] / static_cast<float>(each.size());
  for (std::size_t l = 0; l < mean.size(); ++l) EXPECT_NEAR(a.prediction.scores[l], mean[l], kTolerance);
  EXPECT_EQ(a.prediction.label_id, static_cast<std::size_t>(std::max_element(mean.begin(), mean.end()) - mean.begin()));
  EXPECT_FLOAT_EQ(a.prediction.score, a.prediction.scores[a.prediction.label_id]);
  EXPECT_FALSE(a.prediction.truncated);
  EXPECT_EQ(a.prediction.num_tokens, tokens.size() + 2);

  // The default, truncation, sees the first window only and says so.
  const auto t = analyze(clf, {text}, {})[0];
  EXPECT_EQ(t.chunks, 1u);
  EXPECT_TRUE(t.prediction.truncated);
  expect_same_prediction(t.prediction, each[0], "truncated = first window");
}

TEST(Analysis, ShortTextExplanationIsExactLeaveOneWordOut) {
  const std::string text = "不难吃，但是太贵了";
  Classifier& clf = model();
  AnalysisOptions options;
  options.explain = true;
  const auto a = analyze(clf, {text}, options)[0];
  ASSERT_TRUE(a.explained);
  ASSERT_EQ(a.explanation.size(), code_points(text).size());  // one word per CJK character or mark
  const std::size_t label = a.prediction.label_id;
  const float base = clf.classify({text})[0].scores[label];
  for (const WordWeight& w : a.explanation) {
    EXPECT_EQ(w.text, slice(text, w.start, w.end));
    const std::string without = slice(text, 0, w.start) + slice(text, w.end, code_points(text).size());
    const float expected = base - clf.classify({without})[0].scores[label];
    EXPECT_NEAR(w.weight, expected, kTolerance) << w.text;
  }
}

TEST(Analysis, SpansIndexTheOriginalTextWithEmojiAndMixedScripts) {
  const std::string text = "iPhone13👍手机很好用\u200b，price 4999元 unbelievable!! 😀😀 café";
  AnalysisOptions options;
  options.explain = true;
  options.granularity = Granularity::sentence;
  const auto a = analyze(model(), {text}, options)[0];
  ASSERT_FALSE(a.explanation.empty());
  std::size_t previous_end = 0;
  bool saw_merged_word = false;
  for (const WordWeight& w : a.explanation) {
    EXPECT_EQ(w.text, slice(text, w.start, w.end)) << w.start << "-" << w.end;
    EXPECT_GE(w.start, previous_end);
    EXPECT_TRUE(std::isfinite(w.weight));
    previous_end = w.end;
    saw_merged_word |= w.text == "unbelievable" || w.text == "iphone13" || w.text == "iPhone13";
  }
  EXPECT_TRUE(saw_merged_word) << "## pieces are merged into one word";
  for (const SentenceResult& s : a.sentences) EXPECT_EQ(s.text, slice(text, s.start, s.end));
}

TEST(Analysis, LongTextsAreExplainedInWindowsAndOnlyWhereTheModelLooked) {
  std::string text;
  for (int i = 0; i < 12; ++i) text += "房间很干净，服务员态度很好。早餐太难吃了，";
  Classifier& clf = model(64);
  AnalysisOptions options;
  options.explain = true;
  options.explain_window = 24;
  const auto truncated = analyze(clf, {text}, options)[0];
  ASSERT_TRUE(truncated.prediction.truncated);
  EXPECT_EQ(truncated.explanation.size(), 62u) << "only the 62 tokens the model saw";
  options.long_text = LongText::chunk;
  const auto chunked = analyze(clf, {text}, options)[0];
  EXPECT_EQ(chunked.explanation.size(), code_points(text).size());
  EXPECT_GT(chunked.chunks, 1u);

  // Clauses of 6, 8 and 7 tokens pack into windows of at most 24 (set above): each repetition is one window, and a
  // word's weight is its leave-one-word-out drop inside that window.
  const std::string window = "房间很干净，服务员态度很好。早餐太难吃了，";
  const std::size_t label = chunked.prediction.label_id;
  const std::size_t n = code_points(window).size();
  const float base = clf.classify({window})[0].scores[label];
  for (std::size_t i = 0; i < n; ++i) {
    const WordWeight& w = chunked.explanation[n + i];  // the second repetition: same window, other offsets
    EXPECT_EQ(w.start, n + i);
    const std::string without = slice(window, 0, i) + slice(window, i + 1, n);
    EXPECT_NEAR(w.weight, base - clf.classify({without})[0].scores[label], kTolerance) << w.text;
  }
}

TEST(Analysis, WorkLimitRejectsHugeRequestsBeforeRunningThem) {
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "好";  // explain: ~5000 words x ~26 tokens
  AnalysisOptions options;
  options.explain = true;
  options.long_text = LongText::chunk;
  options.max_work_tokens = 65536;
  try {
    AnalysisPlan plan(model(), text, options);
    FAIL() << "no error; work " << plan.work_tokens();
  } catch (const AnalysisTooLargeError& e) {
    EXPECT_NE(std::string(e.what()).find("65536"), std::string::npos) << e.what();
  }
  options.explain = false;
  const AnalysisPlan chunked(model(), text, options);
  EXPECT_LT(chunked.work_tokens(), 8000u);
}

TEST(Analysis, BadInputsAreClearErrors) {
  EXPECT_THROW(AnalysisPlan(model(), "", {}), EmptyTextError);
  EXPECT_THROW(AnalysisPlan(model(), " \u200b ", {}), EmptyTextError);
  EXPECT_THROW(AnalysisPlan(model(), std::string("ok\xc3"), {}), InvalidInputError);
  EXPECT_THROW(parse_granularity("paragraph"), InvalidInputError);
  EXPECT_THROW(parse_long_text("split"), InvalidInputError);
  EXPECT_EQ(parse_granularity("sentence"), Granularity::sentence);
  EXPECT_EQ(parse_long_text("chunk"), LongText::chunk);
}

}  // namespace
}  // namespace senti
