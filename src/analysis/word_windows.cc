#include "analysis/word_windows.h"

namespace senti::analysis_detail {
namespace {

bool is_clause_end(char32_t c) {
  switch (c) {
    case U'。': case U'！': case U'？': case U'!': case U'?': case U'；': case U';': case U'…': case U'，': case U',':
    case U'、': case U'：': case U':': case U'｡':
      return true;
    default:
      return false;
  }
}

bool is_line_break(char32_t c) { return c == U'\n' || c == U'\r' || c == 0x2028 || c == 0x2029 || c == 0x85; }

}  // namespace

std::vector<WordTokens> group_words(const std::vector<TokenSpan>& tokens, std::size_t count, const Vocab& vocab) {
  std::vector<WordTokens> words;
  for (std::size_t t = 0; t < count; ++t) {
    if (!words.empty() && vocab.token(tokens[t].id).starts_with("##")) {
      words.back().last = t + 1;
    } else {
      words.push_back({t, t + 1});
    }
  }
  return words;
}

std::vector<WordRange> explanation_windows(const std::vector<WordTokens>& words, const std::vector<TokenSpan>& tokens,
                                           const std::vector<char32_t>& text, std::size_t window) {
  std::vector<WordRange> out;
  if (words.empty()) return out;
  const std::size_t total = words.back().last - words.front().first;
  if (window == 0 || total <= 2 * window) return {{0, words.size()}};

  // Clauses: [first, last) word ranges.
  std::vector<WordRange> clauses;
  std::size_t start = 0;
  for (std::size_t w = 0; w < words.size(); ++w) {
    const TokenSpan& last_token = tokens[words[w].last - 1];
    bool end = last_token.end - tokens[words[w].first].start == 1 && is_clause_end(text[last_token.start]);
    if (!end && w + 1 < words.size()) {
      for (std::size_t c = last_token.end; c < tokens[words[w + 1].first].start && !end; ++c) end = is_line_break(text[c]);
    }
    if (end || w + 1 == words.size()) {
      clauses.push_back({start, w + 1});
      start = w + 1;
    }
  }
  auto tokens_of = [&](std::size_t first, std::size_t last) { return words[last - 1].last - words[first].first; };
  // Greedy packing: whole clauses while they fit; a clause over the window alone is cut into pieces.
  WordRange current{0, 0};
  auto flush = [&] {
    if (current.last > current.first) out.push_back(current);
    current = {current.last, current.last};
  };
  for (const WordRange& clause : clauses) {
    if (current.last > current.first && tokens_of(current.first, clause.last) > window) flush();
    if (tokens_of(clause.first, clause.last) <= window) {
      current.last = clause.last;
      continue;
    }
    for (std::size_t w = clause.first; w < clause.last; ++w) {
      if (current.last > current.first && tokens_of(current.first, w + 1) > window) flush();
      current.last = w + 1;
    }
  }
  flush();
  return out;
}

}  // namespace senti::analysis_detail
