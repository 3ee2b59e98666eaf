#include "senti/text_rules.h"

#include <algorithm>

namespace senti {

Encoding encode_nonempty(const BertTokenizer& tokenizer, std::string_view text, std::optional<std::string_view> pair,
                         std::size_t max_length) {
  if (pair && pair->empty()) throw EmptyTextError();
  Encoding e = tokenizer.encode(text, pair, max_length);
  // [CLS] text [SEP] (pair [SEP]): the token_type_ids tell the two parts apart.
  const auto first = static_cast<std::size_t>(std::count(e.token_type_ids.begin(), e.token_type_ids.end(), 0));
  const std::size_t second = e.token_type_ids.size() - first;
  const bool first_empty = first <= 2;
  const bool second_empty = pair && second <= 1;
  if (!first_empty && !second_empty) return e;
  // Truncation to a tiny max_length can empty a part that had tokens: ask the tokenizer itself then.
  if (!e.truncated || (first_empty && tokenizer.tokenize(text).empty()) || (second_empty && tokenizer.tokenize(*pair).empty()))
    throw EmptyTextError();
  return e;
}

std::string excerpt(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0u) == 0x80u) --cut;
  return std::string(s.substr(0, cut)) + "... (" + std::to_string(s.size()) + " bytes)";
}

}  // namespace senti
