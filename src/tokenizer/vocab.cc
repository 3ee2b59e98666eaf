// Vocab: vocab.txt loading (one token per line; the line number is the id) and look-ups.
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include "senti/error.h"
#include "senti/tokenizer.h"
#include "tokenizer/utf8.h"

namespace senti {

Vocab Vocab::load(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError("cannot open vocabulary file " + path.string());
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw ModelError("cannot read vocabulary file " + path.string());
  try {
    tokenizer_detail::validate_utf8(data);
  } catch (const InvalidInputError& e) {
    throw ModelError("vocabulary file " + path.string() + " is not UTF-8: " + e.what());
  }
  std::vector<std::string> tokens;
  std::size_t pos = 0;
  while (pos < data.size()) {
    std::size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) nl = data.size();
    std::size_t end = nl;
    if (end > pos && data[end - 1] == '\r') --end;  // Python's universal newlines
    tokens.emplace_back(data, pos, end - pos);
    pos = nl + 1;
  }
  if (tokens.empty()) throw ModelError("vocabulary file " + path.string() + " is empty");
  return from_tokens(std::move(tokens));
}

Vocab Vocab::from_tokens(std::vector<std::string> tokens) {
  Vocab v;
  v.tokens_ = std::move(tokens);
  v.ids_.reserve(v.tokens_.size());
  for (std::size_t i = 0; i < v.tokens_.size(); ++i) {
    v.ids_.insert_or_assign(v.tokens_[i], static_cast<int32_t>(i));  // duplicates: the last id wins
  }
  return v;
}

std::optional<int32_t> Vocab::find(std::string_view token) const {
  auto it = ids_.find(token);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

const std::string& Vocab::token(int32_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= tokens_.size()) {
    throw std::out_of_range("token id " + std::to_string(id) + " outside the vocabulary of " +
                            std::to_string(tokens_.size()));
  }
  return tokens_[static_cast<std::size_t>(id)];
}

}  // namespace senti
