// split_sentences: a rule-based Chinese (and mixed Latin) sentence splitter; the rules are in analysis.h.
#include <vector>

#include "senti/analysis.h"
#include "tokenizer/unicode_props.h"
#include "tokenizer/utf8.h"

namespace senti {
namespace {

using tokenizer_detail::is_control;
using tokenizer_detail::is_punctuation;
using tokenizer_detail::is_whitespace;

bool is_line_break(char32_t c) { return c == U'\n' || c == U'\r' || c == 0x2028 || c == 0x2029 || c == 0x85; }

// Ends a sentence wherever it stands.
bool is_cjk_terminator(char32_t c) {
  switch (c) {
    case U'。': case U'！': case U'？': case U'；': case U'…': case U'｡': case U'‼': case U'⁇': case U'⁈': case U'⁉':
      return true;
    default:
      return false;
  }
}

// Ends a sentence only before a space, a non-ASCII character or the end ("2.8", "a.b.com", "?q=1" stay whole).
bool is_ascii_terminator(char32_t c) { return c == U'.' || c == U'!' || c == U'?' || c == U';'; }

// Kept with the sentence they close.
bool is_closer(char32_t c) {
  switch (c) {
    case U'”': case U'’': case U'」': case U'』': case U'）': case U')': case U'】': case U'》': case U'〉':
    case U'"': case U'\'': case U'］': case U']': case U'}': case U'｝': case U'〕': case U'〗': case U'〙':
    case U'»': case U'›':
      return true;
    default:
      return false;
  }
}

bool is_content(char32_t c) { return !is_whitespace(c) && !is_punctuation(c) && !is_control(c) && c != 0xFFFD; }

}  // namespace

std::vector<TextSpan> split_sentences(std::string_view text) {
  std::vector<char32_t> cps;
  tokenizer_detail::decode_utf8(text, cps);
  const std::size_t n = cps.size();

  // 1. Raw pieces: cut after terminator runs (with their closers) and at line breaks.
  std::vector<TextSpan> pieces;
  std::size_t start = 0;
  std::size_t i = 0;
  auto cut = [&](std::size_t end) {
    if (end > start) pieces.push_back({start, end});
    start = end;
  };
  while (i < n) {
    const char32_t c = cps[i];
    if (is_line_break(c)) {
      cut(i);
      start = ++i;
      continue;
    }
    const bool cjk = is_cjk_terminator(c);
    if (!cjk && !is_ascii_terminator(c)) {
      ++i;
      continue;
    }
    std::size_t j = i + 1;
    bool any_cjk = cjk;
    while (j < n && (is_cjk_terminator(cps[j]) || is_ascii_terminator(cps[j]))) any_cjk |= is_cjk_terminator(cps[j++]);
    while (j < n && is_closer(cps[j])) ++j;
    const bool ends = any_cjk || j == n || is_whitespace(cps[j]) || cps[j] >= 0x80;
    if (ends) cut(j);
    i = j;
  }
  cut(n);

  // 2. Trim whitespace (and dropped characters); merge pieces without content into a neighbour.
  std::vector<TextSpan> sentences;
  bool pending = false;  // a content-less piece at the start, waiting for the next sentence
  std::size_t pending_start = 0;
  for (TextSpan p : pieces) {
    while (p.start < p.end && (is_whitespace(cps[p.start]) || is_control(cps[p.start]))) ++p.start;
    while (p.end > p.start && (is_whitespace(cps[p.end - 1]) || is_control(cps[p.end - 1]))) --p.end;
    if (p.start == p.end) continue;
    bool content = false;
    for (std::size_t k = p.start; k < p.end && !content; ++k) content = is_content(cps[k]);
    if (!content) {
      if (!sentences.empty()) {
        sentences.back().end = p.end;
      } else if (!pending) {
        pending = true;
        pending_start = p.start;
      }
      continue;
    }
    if (pending) {
      p.start = pending_start;
      pending = false;
    }
    sentences.push_back(p);
  }
  if (pending && sentences.empty()) {
    // Punctuation only ("！！！"): one sentence, so that a non-empty text always has one.
    std::size_t s = pending_start, e = n;
    while (e > s && (is_whitespace(cps[e - 1]) || is_control(cps[e - 1]))) --e;
    sentences.push_back({s, e});
  }
  return sentences;
}

}  // namespace senti
