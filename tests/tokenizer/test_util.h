// Shared helpers of the tokenizer tests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "senti/tokenizer.h"

namespace senti::testing {

inline std::filesystem::path chinese_vocab_path() {
  return std::filesystem::path(SENTI_DATA_DIR) / "vocab/bert-base-chinese-vocab.txt";
}

inline const Vocab& chinese_vocab() {
  static const Vocab vocab = Vocab::load(chinese_vocab_path());
  return vocab;
}

inline std::string ids_str(const std::vector<int32_t>& ids) {
  std::ostringstream os;
  os << '[';
  for (std::size_t i = 0; i < ids.size(); ++i) os << (i ? "," : "") << ids[i];
  os << ']';
  return os.str();
}

}  // namespace senti::testing
