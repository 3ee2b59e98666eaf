// WordPiece: greedy longest-match-first segmentation of one pre-token into vocabulary pieces,
// continuation pieces carrying the "##" prefix. A word that cannot be segmented, or that is longer
// than max_input_chars_per_word characters, becomes the unknown token.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "senti/tokenizer.h"

namespace senti::tokenizer_detail {

struct WordPieceScratch {
  std::string word;                // UTF-8 of the word
  std::vector<std::size_t> bounds;  // byte offset of each character, plus the end
  std::string piece;               // "##" + candidate
  std::vector<int32_t> pieces;     // ids of the word being segmented
  std::vector<std::size_t> piece_ends;  // the character where each of them ends
};

class WordPiece {
 public:
  WordPiece(const Vocab& vocab, int32_t unk_id, std::size_t max_input_chars_per_word)
      : vocab_(&vocab), unk_id_(unk_id), max_chars_(max_input_chars_per_word) {}

  // Appends the ids of `word` to `out`; when piece_chars is given, also how many characters of `word`
  // each piece covers (the unknown token covers the whole word).
  void tokenize(std::span<const char32_t> word, WordPieceScratch& scratch, std::vector<int32_t>& out,
                std::vector<std::size_t>* piece_chars = nullptr) const;

 private:
  const Vocab* vocab_;
  int32_t unk_id_;
  std::size_t max_chars_;
};

}  // namespace senti::tokenizer_detail
