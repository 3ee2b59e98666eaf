#include "tokenizer/wordpiece.h"

#include <optional>
#include <string_view>

#include "tokenizer/utf8.h"

namespace senti::tokenizer_detail {

void WordPiece::tokenize(std::span<const char32_t> word, WordPieceScratch& scratch, std::vector<int32_t>& out,
                         std::vector<std::size_t>* piece_chars) const {
  if (word.empty()) return;
  auto unknown = [&] {
    out.push_back(unk_id_);
    if (piece_chars) piece_chars->push_back(word.size());
  };
  if (word.size() > max_chars_) {
    unknown();
    return;
  }
  scratch.word.clear();
  scratch.bounds.clear();
  for (char32_t cp : word) {
    scratch.bounds.push_back(scratch.word.size());
    append_utf8(scratch.word, cp);
  }
  scratch.bounds.push_back(scratch.word.size());

  const std::string_view w(scratch.word);
  const std::size_t nchars = word.size();
  scratch.pieces.clear();
  scratch.piece_ends.clear();
  std::size_t start = 0;
  while (start < nchars) {
    std::size_t end = nchars;
    std::optional<int32_t> found;
    while (start < end) {
      const std::string_view sub = w.substr(scratch.bounds[start], scratch.bounds[end] - scratch.bounds[start]);
      if (start == 0) {
        found = vocab_->find(sub);
      } else {
        scratch.piece.assign("##");
        scratch.piece.append(sub);
        found = vocab_->find(scratch.piece);
      }
      if (found) break;
      --end;
    }
    if (!found) {
      unknown();
      return;
    }
    scratch.pieces.push_back(*found);
    scratch.piece_ends.push_back(end);
    start = end;
  }
  out.insert(out.end(), scratch.pieces.begin(), scratch.pieces.end());
  if (piece_chars) {
    std::size_t from = 0;
    for (std::size_t e : scratch.piece_ends) {
      piece_chars->push_back(e - from);
      from = e;
    }
  }
}

}  // namespace senti::tokenizer_detail
