#include "tokenizer/unicode_props.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdint>

namespace senti::tokenizer_detail {
namespace {

inline utf8proc_category_t category(char32_t cp) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

inline int combining_class(char32_t cp) {
  return utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->combining_class;
}

}  // namespace

bool is_whitespace(char32_t cp) {
  if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') return true;
  if (cp < 0x80) return false;
  const auto c = category(cp);
  return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

bool is_control(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  if (cp < 0x20 || cp == 0x7F) return true;
  if (cp < 0x80) return false;
  const auto c = category(cp);
  return c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF || c == UTF8PROC_CATEGORY_CO ||
         c == UTF8PROC_CATEGORY_CS;
}

bool is_punctuation(char32_t cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
      (cp >= 123 && cp <= 126)) {
    return true;
  }
  if (cp < 0x80) return false;
  switch (category(cp)) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return true;
    default:
      return false;
  }
}

bool is_chinese_char(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

bool is_nonspacing_mark(char32_t cp) {
  return cp >= 0x300 && category(cp) == UTF8PROC_CATEGORY_MN;
}

void nfd_in_place(std::vector<char32_t>& buf, std::vector<char32_t>& scratch) {
  scratch.clear();
  scratch.reserve(buf.size() + 8);
  bool maybe_unordered = false;
  utf8proc_int32_t tmp[8];
  for (char32_t cp : buf) {
    if (cp < 0xC0) {  // nothing below U+00C0 decomposes or is a combining mark
      scratch.push_back(cp);
      continue;
    }
    int last_boundclass = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), tmp, 8,
                                                 UTF8PROC_DECOMPOSE, &last_boundclass);
    if (n <= 0 || n > 8) {  // cannot happen for a valid scalar value; keep the character
      scratch.push_back(cp);
      continue;
    }
    for (utf8proc_ssize_t k = 0; k < n; ++k) {
      const auto d = static_cast<char32_t>(tmp[k]);
      if (!maybe_unordered && !scratch.empty() && combining_class(d) != 0) maybe_unordered = true;
      scratch.push_back(d);
    }
  }
  if (maybe_unordered) {
    // Canonical ordering: stable-sort every run of non-starters by combining class.
    std::size_t i = 0;
    while (i < scratch.size()) {
      if (combining_class(scratch[i]) == 0) {
        ++i;
        continue;
      }
      std::size_t j = i;
      while (j < scratch.size() && combining_class(scratch[j]) != 0) ++j;
      if (j - i > 1) {
        std::stable_sort(scratch.begin() + static_cast<std::ptrdiff_t>(i),
                         scratch.begin() + static_cast<std::ptrdiff_t>(j),
                         [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
      }
      i = j;
    }
  }
  buf.swap(scratch);
}

void append_lowercase(std::vector<char32_t>& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back((cp >= 'A' && cp <= 'Z') ? cp + 32 : cp);
    return;
  }
  // The one unconditional multi-character lower-case mapping of SpecialCasing.txt, which
  // utf8proc's simple mapping turns into plain 'i'.
  if (cp == 0x130) {
    out.push_back(U'i');
    out.push_back(0x307);
    return;
  }
  out.push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
}

}  // namespace senti::tokenizer_detail
