// BertTokenizer::tokenize_with_offsets: the same tokens as tokenize(), each with the code-point span
// of the original text it came from. The normalizer runs character by character here, so that every
// normalized character remembers its origin; the ids are checked against encode() in the tests.
#include <span>

#include "senti/tokenizer.h"
#include "tokenizer/unicode_props.h"
#include "tokenizer/utf8.h"
#include "tokenizer/wordpiece.h"

namespace senti {
namespace {

using namespace tokenizer_detail;

struct NormalizedChar {
  char32_t cp;
  std::size_t origin;  // index of the original code point it came from
};

// BertNormalizer, one original character at a time: clean, pad CJK with spaces, strip accents
// (NFD, drop nonspacing marks), lower-case.
void normalize_with_origins(const std::vector<char32_t>& decoded, std::size_t first_origin,
                            const TokenizerOptions& options, std::vector<NormalizedChar>& out) {
  const bool strip_accents = options.strip_accents.value_or(options.do_lower_case);
  std::vector<char32_t> one, scratch, lowered;
  for (std::size_t k = 0; k < decoded.size(); ++k) {
    const char32_t cp = decoded[k];
    const std::size_t origin = first_origin + k;
    if (cp == 0 || cp == 0xFFFD || is_control(cp)) continue;
    if (is_whitespace(cp)) {
      out.push_back({U' ', origin});
      continue;
    }
    const bool cjk = options.tokenize_chinese_chars && is_chinese_char(cp);
    if (cjk) out.push_back({U' ', origin});
    one.assign(1, cp);
    if (strip_accents) {
      nfd_in_place(one, scratch);
      std::erase_if(one, [](char32_t c) { return is_nonspacing_mark(c); });
    }
    for (char32_t c : one) {
      if (options.do_lower_case) {
        lowered.clear();
        append_lowercase(lowered, c);
        for (char32_t l : lowered) out.push_back({l, origin});
      } else {
        out.push_back({c, origin});
      }
    }
    if (cjk) out.push_back({U' ', origin});
  }
}

std::size_t count_code_points(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

}  // namespace

std::vector<TokenSpan> BertTokenizer::tokenize_with_offsets(std::string_view text) const {
  const WordPiece wordpiece(vocab_, unk_id_, options_.max_input_chars_per_word);
  WordPieceScratch wscratch;
  std::vector<TokenSpan> out;
  std::vector<char32_t> decoded;
  std::vector<NormalizedChar> normalized;
  std::vector<char32_t> word;
  std::vector<int32_t> ids;
  std::vector<std::size_t> piece_chars;

  auto emit_word = [&](std::span<const NormalizedChar> chars) {
    if (chars.empty()) return;
    word.clear();
    for (const auto& c : chars) word.push_back(c.cp);
    ids.clear();
    piece_chars.clear();
    wordpiece.tokenize(word, wscratch, ids, &piece_chars);
    std::size_t from = 0;
    for (std::size_t p = 0; p < ids.size(); ++p) {
      const std::size_t to = from + piece_chars[p];
      std::size_t start = chars[from].origin, end = chars[from].origin;
      for (std::size_t c = from; c < to; ++c) {
        start = std::min(start, chars[c].origin);
        end = std::max(end, chars[c].origin);
      }
      out.push_back({ids[p], start, end + 1});
      from = to;
    }
  };

  // A segment between special tokens: bytes [from, to), whose first character is code point first_cp.
  auto run_segment = [&](std::size_t from, std::size_t to, std::size_t first_cp) {
    if (to <= from) return;
    decoded.clear();
    decode_utf8(text.substr(from, to - from), decoded, from);
    normalized.clear();
    normalize_with_origins(decoded, first_cp, options_, normalized);
    // BertPreTokenizer: split on spaces, isolate punctuation.
    const std::span<const NormalizedChar> s(normalized);
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i].cp == U' ') {
        emit_word(s.subspan(start, i - start));
        start = i + 1;
      } else if (is_punctuation(s[i].cp)) {
        emit_word(s.subspan(start, i - start));
        emit_word(s.subspan(i, 1));
        start = i + 1;
      }
    }
    emit_word(s.subspan(start));
  };

  std::size_t seg_start = 0, seg_first_cp = 0;
  for (;;) {
    const std::pair<std::string, int32_t>* hit = nullptr;
    const std::size_t at = find_special(text, seg_start, hit);
    run_segment(seg_start, at, seg_first_cp);
    if (!hit) break;
    const std::size_t cp = seg_first_cp + count_code_points(text.substr(seg_start, at - seg_start));
    out.push_back({hit->second, cp, cp + hit->first.size()});  // special tokens are ASCII
    seg_start = at + hit->first.size();
    seg_first_cp = cp + hit->first.size();
  }
  return out;
}

}  // namespace senti
