// Words and explanation windows over a text's tokens (the rules are in senti/analysis.h).
#pragma once

#include <cstddef>
#include <vector>

#include "senti/tokenizer.h"

namespace senti::analysis_detail {

// Tokens [first, last) of one word.
struct WordTokens {
  std::size_t first = 0;
  std::size_t last = 0;
};

// The words of tokens[0, count): a token and its "##" continuations.
std::vector<WordTokens> group_words(const std::vector<TokenSpan>& tokens, std::size_t count, const Vocab& vocab);

// Windows of whole words, [first, last) word indices: clauses (ended by clause punctuation or a line
// break in the text) merged while the window holds at most `window` tokens; a longer clause is cut at
// word boundaries. A text of at most 2 x `window` tokens is one window (window 0: always one).
struct WordRange {
  std::size_t first = 0;
  std::size_t last = 0;
};
std::vector<WordRange> explanation_windows(const std::vector<WordTokens>& words, const std::vector<TokenSpan>& tokens,
                                           const std::vector<char32_t>& text, std::size_t window);

}  // namespace senti::analysis_detail
