// BERT "basic" tokenization: the BertNormalizer (clean text, CJK padding, NFD accent stripping,
// lower-casing) followed by the BertPreTokenizer (split on whitespace, isolate punctuation).
#pragma once

#include <span>
#include <string_view>
#include <vector>

namespace senti::tokenizer_detail {

struct BasicTokenizerOptions {
  bool lowercase = true;
  bool strip_accents = true;
  bool tokenize_chinese_chars = true;
};

// Reusable buffers, so that repeated calls do not allocate.
struct BasicScratch {
  std::vector<char32_t> decoded;
  std::vector<char32_t> normalized;
  std::vector<char32_t> tmp;
};

class BasicTokenizer {
 public:
  explicit BasicTokenizer(BasicTokenizerOptions options) : options_(options) {}

  // Normalizes `text` (valid UTF-8; throws InvalidInputError otherwise, offsets counted from
  // `base_offset`) and calls `on_word(std::span<const char32_t>)` for every pre-token, in order.
  template <typename OnWord>
  void run(std::string_view text, std::size_t base_offset, BasicScratch& scratch, OnWord&& on_word) const {
    normalize(text, base_offset, scratch);
    const std::vector<char32_t>& s = scratch.normalized;
    std::size_t start = 0;
    const std::size_t n = s.size();
    for (std::size_t i = 0; i < n; ++i) {
      const char32_t cp = s[i];
      if (cp == U' ') {
        if (i > start) on_word(std::span<const char32_t>(s.data() + start, i - start));
        start = i + 1;
      } else if (is_punct(cp)) {
        if (i > start) on_word(std::span<const char32_t>(s.data() + start, i - start));
        on_word(std::span<const char32_t>(s.data() + i, 1));
        start = i + 1;
      }
    }
    if (n > start) on_word(std::span<const char32_t>(s.data() + start, n - start));
  }

  // The normalized code points of `text` (every whitespace mapped to U+0020), in scratch.normalized.
  void normalize(std::string_view text, std::size_t base_offset, BasicScratch& scratch) const;

  const BasicTokenizerOptions& options() const { return options_; }

 private:
  static bool is_punct(char32_t cp);
  BasicTokenizerOptions options_;
};

}  // namespace senti::tokenizer_detail
