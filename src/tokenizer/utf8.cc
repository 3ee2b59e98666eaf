#include "tokenizer/utf8.h"

#include <cstdint>
#include <cstdio>

#include "senti/error.h"

namespace senti::tokenizer_detail {
namespace {

[[noreturn]] void fail(std::size_t offset, const char* what, unsigned byte) {
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02X", byte & 0xFFu);
  throw InvalidInputError("invalid UTF-8 at byte offset " + std::to_string(offset) + ": " + what +
                          " (byte " + hex + ")");
}

// The well-formed sequence at s[i]: its length (its code point in cp), or 0 with what is wrong.
std::size_t sequence_at(const unsigned char* s, std::size_t n, std::size_t i, char32_t& cp, const char*& what) {
  const unsigned b0 = s[i];
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  std::size_t len;
  char32_t min_cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, cp = b0 & 0x1F, min_cp = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, cp = b0 & 0x0F, min_cp = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, cp = b0 & 0x07, min_cp = 0x10000;
  } else {
    what = b0 <= 0xBF   ? "unexpected continuation byte"
           : b0 <= 0xC1 ? "overlong encoding"
                        : "byte can never appear in UTF-8 (code point above U+10FFFF)";
    return 0;
  }
  for (std::size_t k = 1; k < len; ++k) {
    if (i + k >= n || (s[i + k] & 0xC0) != 0x80) {
      what = "truncated multi-byte sequence";
      return 0;
    }
    cp = (cp << 6) | (s[i + k] & 0x3F);
  }
  what = cp < min_cp                     ? "overlong encoding"
         : cp >= 0xD800 && cp <= 0xDFFF ? "encoded UTF-16 surrogate"
         : cp > 0x10FFFF                ? "code point above U+10FFFF"
                                        : nullptr;
  return what == nullptr ? len : 0;
}

// Decodes text, passing each code point to `emit`; throws at the first ill-formed sequence.
template <typename Emit>
void decode_impl(std::string_view text, std::size_t base_offset, Emit&& emit) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    char32_t cp = 0;
    const char* what = nullptr;
    const std::size_t len = sequence_at(s, n, i, cp, what);
    if (len == 0) fail(base_offset + i, what, s[i]);
    emit(cp);
    i += len;
  }
}

}  // namespace

void decode_utf8(std::string_view text, std::vector<char32_t>& out, std::size_t base_offset) {
  out.reserve(out.size() + text.size());
  decode_impl(text, base_offset, [&out](char32_t cp) { out.push_back(cp); });
}

void validate_utf8(std::string_view text) {
  decode_impl(text, 0, [](char32_t) {});
}

std::string replace_invalid_utf8(std::string_view text, std::size_t* first_bad) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::string out;
  out.reserve(n);
  bool seen_bad = false;
  for (std::size_t i = 0; i < n;) {
    char32_t cp = 0;
    const char* what = nullptr;
    const std::size_t len = sequence_at(s, n, i, cp, what);
    if (len == 0) {
      if (!seen_bad && first_bad != nullptr) *first_bad = i;
      seen_bad = true;
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

}  // namespace senti::tokenizer_detail
