// "Why" and "where": word-level explanations, per-sentence results and long texts in overlapping windows,
// one capability behind the CLI, HTTP, Python and the playground. Every span is in code points of the
// original text ([start, end): text[start:end] in Python is the piece).
//
// How each part is computed (README "Why and where" has the measurements):
// - Words: the model's tokens, a token followed by its "##" continuations being one word; each CJK
//   character is a token, hence a word; punctuation marks are words of their own.
// - Explanation: occlusion. A word's weight is the drop of the predicted label's score (calibrated
//   probability) when the word's tokens are deleted, measured in the word's context window: the clauses
//   around it (split after 。！？!?；;…，,、：: and at line breaks), merged up to explain_window tokens. A
//   text of at most 2 x explain_window tokens is one window: the weight is then the exact leave-one-word-out
//   drop on the whole text (a short review is explained exactly; a clause alone that is already certain,
//   e.g. "物流太慢了！" at 0.98, would show its words' weights shrunk). Positive: the word supports the predicted label; negative: it argues against.
//   All variants run as packed batches (no gradients), so the cost grows with words x window, not words x text.
// - Long texts: long_text=chunk classifies a text longer than the model's window in windows of
//   max_length-2 tokens, a new one every 3/4 window (a quarter of overlap), the last one ending at the
//   text's end; the text's scores and logits are the mean of its windows'. The default, truncate, keeps
//   the first max_length-2 tokens (truncated: true), as TEI does.
// - Sentences: split_sentences() below; each sentence is classified alone (exactly as predicting its text).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "senti/classifier.h"
#include "senti/error.h"

namespace senti {

// [start, end) in code points of the original text.
struct TextSpan {
  std::size_t start = 0;
  std::size_t end = 0;
};

// Sentences of a text: split after 。！？!?；;… (a run of them counts as one; ASCII . ! ? ; only before a
// space, a non-ASCII character or the end, so "2.8" and URLs stay whole), closing quotes and brackets
// kept with their sentence, and at every line break. Spans exclude surrounding whitespace; a piece with
// no letter, digit, ideograph or symbol (e.g. a lone "……") joins the sentence before it (or after it, at
// the start). No sentence is empty. Throws InvalidInputError on invalid UTF-8.
std::vector<TextSpan> split_sentences(std::string_view text);

enum class Granularity { text, sentence };
enum class LongText { truncate, chunk };

// "text" | "sentence" and "truncate" | "chunk"; anything else throws InvalidInputError naming the choices.
Granularity parse_granularity(std::string_view name);
LongText parse_long_text(std::string_view name);
const char* to_string(Granularity g);
const char* to_string(LongText l);

struct AnalysisOptions {
  bool explain = false;
  Granularity granularity = Granularity::text;
  LongText long_text = LongText::truncate;
  // Tokens per explanation window (see above); 0: the whole text (exact leave-one-word-out, words x
  // text tokens of work). 16 is the measured trade-off (README "Why and where", bench/results/explain/):
  // 85% / 92% of texts pass the deletion test at k = 1 / 3, explain of a 100-character text ~9x a predict.
  std::size_t explain_window = 16;
  // The most model work (tokens over all sequences) one text may ask for; 0: no limit. Over it,
  // AnalysisTooLargeError. The server sets it (--max-analysis-tokens).
  std::size_t max_work_tokens = 0;
};

// A request whose analysis would run more model work than allowed (HTTP 422).
class AnalysisTooLargeError : public InvalidInputError {
 public:
  using InvalidInputError::InvalidInputError;
};

struct WordWeight {
  std::string text;  // the original characters of the word
  std::size_t start = 0;
  std::size_t end = 0;
  float weight = 0.f;  // drop of the predicted label's score when the word is deleted
};

struct SentenceResult {
  std::string text;
  std::size_t start = 0;
  std::size_t end = 0;
  Prediction prediction;
  std::size_t chunks = 1;
};

struct Analysis {
  Prediction prediction;  // the whole text (the mean of its windows when chunked)
  std::size_t chunks = 1;  // windows the text was classified in (1 unless long_text=chunk split it)
  bool explained = false;  // explanation is filled (options.explain)
  std::vector<WordWeight> explanation;  // in text order; words the model did not see (truncated) are left out
  bool by_sentence = false;  // sentences is filled (granularity=sentence)
  std::vector<SentenceResult> sentences;
};

// The model work one text's analysis needs, and how its predictions become the Analysis. Split in two so
// that the server can run the sequences through its batcher; analyze() below runs them directly.
class AnalysisPlan {
 public:
  // Tokenizes and plans; throws InvalidInputError (bad UTF-8), EmptyTextError, AnalysisTooLargeError.
  // Keeps references to the classifier's tokenizer and config: the classifier must outlive the plan.
  AnalysisPlan(const Classifier& classifier, std::string text, const AnalysisOptions& options);

  // The sequences to classify, and how many tokens they hold in all.
  const std::vector<Encoding>& encodings() const { return encodings_; }
  std::size_t work_tokens() const { return work_tokens_; }
  // predictions[i] is encodings()[i]'s.
  Analysis finish(const std::vector<Prediction>& predictions) const;

 private:
  struct Part {  // one classified unit: the text or a sentence
    std::size_t start = 0, end = 0;  // code points
    std::vector<std::size_t> windows;  // indices into encodings_
    bool truncated = false;
    std::size_t num_tokens = 0;
  };
  struct Word {
    std::size_t start = 0, end = 0;  // code points
    std::size_t window = 0;          // index of the window's full encoding
    std::size_t occluded = 0;        // index of the encoding without the word
  };

  Part plan_part(std::size_t start_cp, std::size_t end_cp, const std::vector<TokenSpan>& tokens);
  void plan_explanation(const std::vector<TokenSpan>& tokens, std::size_t seen);
  std::size_t add(Encoding e);
  Prediction combine(const Part& part, const std::vector<Prediction>& predictions) const;

  const Classifier* classifier_;
  std::string text_;
  AnalysisOptions options_;
  std::vector<Encoding> encodings_;
  std::size_t work_tokens_ = 0;
  Part whole_;
  std::vector<Part> sentences_;
  std::vector<Word> words_;
};

// Plans, classifies and finishes every text (all their sequences in packed batches).
std::vector<Analysis> analyze(Classifier& classifier, const std::vector<std::string>& texts,
                              const AnalysisOptions& options);

}  // namespace senti
