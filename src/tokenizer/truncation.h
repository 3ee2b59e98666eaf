// Truncation of one or two token sequences, as the Hugging Face `tokenizers` library does it.
#pragma once

#include <cstddef>

namespace senti::tokenizer_detail {

struct PairLengths {
  std::size_t first;
  std::size_t second;
};

// "longest_first" for a pair of lengths n1, n2 that must fit in `budget` tokens (special tokens
// excluded). Mirrors tokenizers' truncate_encodings: when both must shrink, each gets budget/2 and
// the longer sequence (the second one on a tie) gets the odd token. Returns the new lengths.
PairLengths longest_first(std::size_t n1, std::size_t n2, std::size_t budget);

}  // namespace senti::tokenizer_detail
