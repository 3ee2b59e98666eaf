// Character classes used by BERT's normalizer and pre-tokenizer, with the semantics of the Hugging
// Face `tokenizers` BertNormalizer / BertPreTokenizer (what transformers' BertTokenizer runs).
// Unicode data comes from utf8proc.
#pragma once

#include <vector>

namespace senti::tokenizer_detail {

// \t \n \r, and the Zs / Zl / Zp categories (Rust's char::is_whitespace once Cc chars are gone).
bool is_whitespace(char32_t cp);
// Cc, Cf, Co, Cs, except \t \n \r. Unassigned (Cn) code points are NOT control for the Rust
// tokenizer (the legacy Python tokenizer drops them).
bool is_control(char32_t cp);
// ASCII punctuation (33-47, 58-64, 91-96, 123-126) plus every Unicode P* category.
bool is_punctuation(char32_t cp);
// The CJK ideograph blocks of BERT's _is_chinese_char.
bool is_chinese_char(char32_t cp);
// Mark, nonspacing.
bool is_nonspacing_mark(char32_t cp);

// NFD: replaces `buf` with its canonical decomposition (canonically reordered). Uses `scratch`.
void nfd_in_place(std::vector<char32_t>& buf, std::vector<char32_t>& scratch);
// Full lower-case mapping of one character (as Rust's char::to_lowercase; no final-sigma rule),
// appended to `out`.
void append_lowercase(std::vector<char32_t>& out, char32_t cp);

}  // namespace senti::tokenizer_detail
