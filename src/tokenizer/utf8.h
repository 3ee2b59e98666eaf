// UTF-8 validation/decoding and encoding of Unicode scalar values.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace senti::tokenizer_detail {

// Decodes `text` into code points, appending to `out`. Rejects overlong forms, surrogates, code
// points above U+10FFFF, truncated sequences and stray bytes: throws InvalidInputError naming the
// byte offset (counted from `base_offset`, the position of `text` inside the caller's input).
void decode_utf8(std::string_view text, std::vector<char32_t>& out, std::size_t base_offset = 0);

// Throws InvalidInputError like decode_utf8 when `text` is not valid UTF-8; decodes nothing.
void validate_utf8(std::string_view text);

// text with every ill-formed byte replaced by U+FFFD; *first_bad (when given) gets the offset of the
// first one, and is left alone when text is valid.
std::string replace_invalid_utf8(std::string_view text, std::size_t* first_bad = nullptr);

// Appends the UTF-8 encoding of a valid scalar value.
inline void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace senti::tokenizer_detail
