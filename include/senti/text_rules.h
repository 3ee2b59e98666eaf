// Rules every command and API of senti applies to the texts it is given, and to how much of them an
// error message may quote.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "senti/error.h"
#include "senti/tokenizer.h"

namespace senti {

// A text with no tokens once BERT's text cleaning is done ("", "   ", control or zero-width characters
// only): the model would see nothing but [CLS] [SEP]. HTTP maps it to 422 "the text is empty".
class EmptyTextError : public InvalidInputError {
 public:
  EmptyTextError() : InvalidInputError("the text is empty (no tokens after text cleaning)") {}
};

// tokenizer.encode(), but a text (or a given pair) without tokens throws EmptyTextError; invalid
// UTF-8 throws InvalidInputError as encode() does.
Encoding encode_nonempty(const BertTokenizer& tokenizer, std::string_view text,
                         std::optional<std::string_view> pair = std::nullopt, std::size_t max_length = 0);

// At most max_bytes of s (cut at a UTF-8 character boundary), followed by "... (N bytes)" when cut:
// what error messages quote of the input, so a huge malformed line never floods a log or a terminal.
std::string excerpt(std::string_view s, std::size_t max_bytes = 200);

}  // namespace senti
