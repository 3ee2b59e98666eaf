#include "tokenizer/basic_tokenizer.h"

#include "tokenizer/unicode_props.h"
#include "tokenizer/utf8.h"

namespace senti::tokenizer_detail {

bool BasicTokenizer::is_punct(char32_t cp) { return is_punctuation(cp); }

void BasicTokenizer::normalize(std::string_view text, std::size_t base_offset, BasicScratch& scratch) const {
  scratch.decoded.clear();
  decode_utf8(text, scratch.decoded, base_offset);

  // 1. Clean text: drop NUL, U+FFFD and control characters, map whitespace to ' '.
  // 2. Surround CJK ideographs with spaces.
  std::vector<char32_t>& out = scratch.normalized;
  out.clear();
  out.reserve(scratch.decoded.size() + 16);
  for (char32_t cp : scratch.decoded) {
    if (cp == 0 || cp == 0xFFFD || is_control(cp)) continue;
    if (is_whitespace(cp)) {
      out.push_back(U' ');
    } else if (options_.tokenize_chinese_chars && is_chinese_char(cp)) {
      out.push_back(U' ');
      out.push_back(cp);
      out.push_back(U' ');
    } else {
      out.push_back(cp);
    }
  }

  // 3. Strip accents: NFD, then drop nonspacing marks (before lower-casing, as `tokenizers` does).
  if (options_.strip_accents) {
    nfd_in_place(out, scratch.tmp);
    std::size_t w = 0;
    for (char32_t cp : out) {
      if (!is_nonspacing_mark(cp)) out[w++] = cp;
    }
    out.resize(w);
  }

  // 4. Lower-case, character by character (full mappings, no context-dependent final sigma).
  if (options_.lowercase) {
    bool all_ascii = true;
    for (char32_t& cp : out) {
      if (cp < 0x80) {
        if (cp >= U'A' && cp <= U'Z') cp += 32;
      } else {
        all_ascii = false;
      }
    }
    if (!all_ascii) {
      scratch.tmp.clear();
      for (char32_t cp : out) append_lowercase(scratch.tmp, cp);
      out.swap(scratch.tmp);
    }
  }
}

}  // namespace senti::tokenizer_detail
