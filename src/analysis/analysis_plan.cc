// AnalysisPlan: the sequences one text's analysis classifies (text or its windows, sentences, occlusion
// variants) and how their predictions combine (the rules are in senti/analysis.h).
#include <algorithm>
#include <string>

#include "analysis/word_windows.h"
#include "senti/analysis.h"
#include "senti/text_rules.h"
#include "tokenizer/utf8.h"

namespace senti {
namespace {

using analysis_detail::WordTokens;

// Byte offset of every code point of a valid UTF-8 text, plus its size.
std::vector<std::size_t> code_point_bytes(std::string_view text) {
  std::vector<std::size_t> bytes;
  bytes.reserve(text.size() + 1);
  for (std::size_t b = 0; b < text.size(); ++b) {
    if ((static_cast<unsigned char>(text[b]) & 0xC0) != 0x80) bytes.push_back(b);
  }
  bytes.push_back(text.size());
  return bytes;
}

Encoding framed(const BertTokenizer& tokenizer, const std::vector<TokenSpan>& tokens, std::size_t from, std::size_t to,
                std::size_t skip_from = 0, std::size_t skip_to = 0) {
  Encoding e;
  e.input_ids.reserve(to - from + 2);
  e.input_ids.push_back(*tokenizer.vocab().find(tokenizer.options().cls_token));
  for (std::size_t t = from; t < to; ++t) {
    if (t < skip_from || t >= skip_to) e.input_ids.push_back(tokens[t].id);
  }
  e.input_ids.push_back(*tokenizer.vocab().find(tokenizer.options().sep_token));
  e.token_type_ids.assign(e.input_ids.size(), 0);
  return e;
}

}  // namespace

AnalysisPlan::AnalysisPlan(const Classifier& classifier, std::string text, const AnalysisOptions& options)
    : classifier_(&classifier), text_(std::move(text)), options_(options) {
  const BertTokenizer& tokenizer = classifier.tokenizer();
  const std::vector<TokenSpan> tokens = tokenizer.tokenize_with_offsets(text_);  // throws on invalid UTF-8
  if (tokens.empty()) throw EmptyTextError();
  const std::vector<std::size_t> bytes = code_point_bytes(text_);
  const std::size_t chars = bytes.size() - 1;

  whole_ = plan_part(0, chars, tokens);
  if (options_.granularity == Granularity::sentence) {
    for (const TextSpan& s : split_sentences(text_)) {
      const std::string_view piece = std::string_view(text_).substr(bytes[s.start], bytes[s.end] - bytes[s.start]);
      std::vector<TokenSpan> piece_tokens = tokenizer.tokenize_with_offsets(piece);
      if (piece_tokens.empty()) continue;  // e.g. only zero-width characters: nothing to classify
      sentences_.push_back(plan_part(s.start, s.end, piece_tokens));
    }
  }
  if (options_.explain) {
    const std::size_t content = classifier.max_length() - 2;
    const std::size_t seen = options_.long_text == LongText::chunk ? tokens.size() : std::min(tokens.size(), content);
    plan_explanation(tokens, seen);
  }
}

std::size_t AnalysisPlan::add(Encoding e) {
  work_tokens_ += e.input_ids.size();
  if (options_.max_work_tokens && work_tokens_ > options_.max_work_tokens) {
    throw AnalysisTooLargeError(
        "this analysis needs more than " + std::to_string(options_.max_work_tokens) +
        " tokens of model work, the limit (--max-analysis-tokens): send a shorter text, or ask without " +
        (options_.explain ? "explain" : "long_text=chunk"));
  }
  encodings_.push_back(std::move(e));
  return encodings_.size() - 1;
}

AnalysisPlan::Part AnalysisPlan::plan_part(std::size_t start_cp, std::size_t end_cp, const std::vector<TokenSpan>& tokens) {
  const BertTokenizer& tokenizer = classifier_->tokenizer();
  const std::size_t content = classifier_->max_length() - 2;
  const std::size_t n = tokens.size();
  Part part{start_cp, end_cp, {}, false, 0};
  if (n <= content || options_.long_text == LongText::truncate || content == 0) {
    const std::size_t kept = std::min(n, content);
    part.truncated = kept < n;
    part.num_tokens = kept + 2;
    part.windows.push_back(add(framed(tokenizer, tokens, 0, kept)));
    return part;
  }
  // Windows of `content` tokens every 3/4 window; the last one ends at the text's end.
  const std::size_t stride = std::max<std::size_t>(1, content * 3 / 4);
  for (std::size_t from = 0;; from += stride) {
    const std::size_t start = std::min(from, n - content);
    part.windows.push_back(add(framed(tokenizer, tokens, start, start + content)));
    if (start + content >= n) break;
  }
  part.num_tokens = n + 2;
  return part;
}

void AnalysisPlan::plan_explanation(const std::vector<TokenSpan>& tokens, std::size_t seen) {
  const BertTokenizer& tokenizer = classifier_->tokenizer();
  std::vector<char32_t> cps;
  tokenizer_detail::decode_utf8(text_, cps);
  const std::vector<WordTokens> words = analysis_detail::group_words(tokens, seen, tokenizer.vocab());
  const auto windows = analysis_detail::explanation_windows(words, tokens, cps, options_.explain_window);
  for (const auto& window : windows) {
    const std::size_t from = words[window.first].first, to = words[window.last - 1].last;
    // The whole text in one window: its prediction is the text's own (truncate mode), not classified twice.
    const bool is_whole = from == 0 && to == tokens.size() && whole_.windows.size() == 1 && !whole_.truncated;
    const std::size_t full = is_whole ? whole_.windows[0] : add(framed(tokenizer, tokens, from, to));
    for (std::size_t w = window.first; w < window.last; ++w) {
      const std::size_t occluded = add(framed(tokenizer, tokens, from, to, words[w].first, words[w].last));
      words_.push_back({tokens[words[w].first].start, tokens[words[w].last - 1].end, full, occluded});
    }
  }
}

Prediction AnalysisPlan::combine(const Part& part, const std::vector<Prediction>& predictions) const {
  Prediction p = predictions.at(part.windows.front());
  if (part.windows.size() > 1) {
    // The mean of the windows' scores (and logits); the label is the top mean score.
    const std::size_t labels = p.scores.size();
    std::vector<double> scores(labels, 0.0), logits(labels, 0.0);
    for (std::size_t w : part.windows) {
      for (std::size_t l = 0; l < labels; ++l) {
        scores[l] += predictions.at(w).scores[l];
        logits[l] += predictions.at(w).logits[l];
      }
    }
    const double k = static_cast<double>(part.windows.size());
    for (std::size_t l = 0; l < labels; ++l) {
      p.scores[l] = static_cast<float>(scores[l] / k);
      p.logits[l] = static_cast<float>(logits[l] / k);
    }
    const BertConfig& config = classifier_->config();
    p.label_id = static_cast<std::size_t>(std::max_element(p.scores.begin(), p.scores.end()) - p.scores.begin());
    p.label = config.labels[p.label_id];
    p.display_label = config.label_display.empty() ? p.label : config.label_display[p.label_id];
    p.score = p.scores[p.label_id];
  }
  p.num_tokens = part.num_tokens;
  p.truncated = part.truncated;
  return p;
}

Analysis AnalysisPlan::finish(const std::vector<Prediction>& predictions) const {
  if (predictions.size() != encodings_.size())
    throw InvalidInputError("analysis: " + std::to_string(predictions.size()) + " predictions for " +
                            std::to_string(encodings_.size()) + " sequences");
  Analysis a;
  a.prediction = combine(whole_, predictions);
  a.chunks = whole_.windows.size();
  if (options_.granularity == Granularity::sentence) {
    a.by_sentence = true;
    const std::vector<std::size_t> bytes = code_point_bytes(text_);
    for (const Part& s : sentences_) {
      a.sentences.push_back({text_.substr(bytes[s.start], bytes[s.end] - bytes[s.start]), s.start, s.end,
                             combine(s, predictions), s.windows.size()});
    }
  }
  if (options_.explain) {
    a.explained = true;
    const std::vector<std::size_t> bytes = code_point_bytes(text_);
    const std::size_t label = a.prediction.label_id;
    for (const Word& w : words_) {
      const float weight = predictions[w.window].scores[label] - predictions[w.occluded].scores[label];
      a.explanation.push_back({text_.substr(bytes[w.start], bytes[w.end] - bytes[w.start]), w.start, w.end, weight});
    }
  }
  return a;
}

std::vector<Analysis> analyze(Classifier& classifier, const std::vector<std::string>& texts,
                              const AnalysisOptions& options) {
  std::vector<AnalysisPlan> plans;
  plans.reserve(texts.size());
  std::vector<Encoding> all;
  for (const std::string& text : texts) {
    plans.emplace_back(classifier, text, options);
    all.insert(all.end(), plans.back().encodings().begin(), plans.back().encodings().end());
  }
  const std::vector<Prediction> predictions = classifier.classify(all);
  std::vector<Analysis> out;
  out.reserve(texts.size());
  std::size_t next = 0;
  for (const AnalysisPlan& plan : plans) {
    const std::size_t k = plan.encodings().size();
    out.push_back(plan.finish(std::vector<Prediction>(predictions.begin() + static_cast<std::ptrdiff_t>(next),
                                                      predictions.begin() + static_cast<std::ptrdiff_t>(next + k))));
    next += k;
  }
  return out;
}

Granularity parse_granularity(std::string_view name) {
  if (name == "text") return Granularity::text;
  if (name == "sentence") return Granularity::sentence;
  throw InvalidInputError("unknown granularity \"" + excerpt(name, 40) + "\": use text or sentence");
}

LongText parse_long_text(std::string_view name) {
  if (name == "truncate") return LongText::truncate;
  if (name == "chunk") return LongText::chunk;
  throw InvalidInputError("unknown long_text \"" + excerpt(name, 40) + "\": use truncate or chunk");
}

const char* to_string(Granularity g) { return g == Granularity::sentence ? "sentence" : "text"; }
const char* to_string(LongText l) { return l == LongText::chunk ? "chunk" : "truncate"; }

}  // namespace senti
