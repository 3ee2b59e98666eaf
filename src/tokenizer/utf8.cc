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

// Decodes one scalar value starting at text[i]; advances i. `Emit` receives the code point.
template <typename Emit>
void decode_impl(std::string_view text, std::size_t base_offset, Emit&& emit) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned b0 = s[i];
    if (b0 < 0x80) {
      emit(static_cast<char32_t>(b0));
      ++i;
      continue;
    }
    std::size_t len;
    char32_t cp;
    char32_t min_cp;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2, cp = b0 & 0x1F, min_cp = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3, cp = b0 & 0x0F, min_cp = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4, cp = b0 & 0x07, min_cp = 0x10000;
    } else if (b0 >= 0x80 && b0 <= 0xBF) {
      fail(base_offset + i, "unexpected continuation byte", b0);
    } else if (b0 == 0xC0 || b0 == 0xC1) {
      fail(base_offset + i, "overlong encoding", b0);
    } else {
      fail(base_offset + i, "byte can never appear in UTF-8 (code point above U+10FFFF)", b0);
    }
    for (std::size_t k = 1; k < len; ++k) {
      if (i + k >= n) fail(base_offset + i, "truncated multi-byte sequence", b0);
      const unsigned bk = s[i + k];
      if ((bk & 0xC0) != 0x80) fail(base_offset + i, "truncated multi-byte sequence", b0);
      cp = (cp << 6) | (bk & 0x3F);
    }
    if (cp < min_cp) fail(base_offset + i, "overlong encoding", b0);
    if (cp >= 0xD800 && cp <= 0xDFFF) fail(base_offset + i, "encoded UTF-16 surrogate", b0);
    if (cp > 0x10FFFF) fail(base_offset + i, "code point above U+10FFFF", b0);
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

}  // namespace senti::tokenizer_detail
