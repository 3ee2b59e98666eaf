#include "tokenizer/wordpiece.h"

#include <optional>
#include <string_view>

#include "tokenizer/utf8.h"

namespace senti::tokenizer_detail {

void WordPiece::tokenize(std::span<const char32_t> word, WordPieceScratch& scratch,
                         std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (word.size() > max_chars_) {
    out.push_back(unk_id_);
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
      out.push_back(unk_id_);
      return;
    }
    scratch.pieces.push_back(*found);
    start = end;
  }
  out.insert(out.end(), scratch.pieces.begin(), scratch.pieces.end());
}

}  // namespace senti::tokenizer_detail
