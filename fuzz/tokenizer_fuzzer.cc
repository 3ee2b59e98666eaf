// The tokenizer on arbitrary bytes, with each option set and sentence pairs. Invariants: invalid
// UTF-8 (and only that) is an InvalidInputError; the encoding is [CLS] ... [SEP] (... [SEP]) with ids
// inside the vocab, token_type_ids 0 then 1, at most max_length tokens, truncated exactly when
// tokens were dropped; untruncated, its middle is tokenize()'s pieces.
//   input: byte 0 picks the options and max_length; the rest is the text, a 0 byte starts the pair.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.h"
#include "senti/error.h"
#include "senti/tokenizer.h"
#include "serving/http_util.h"

namespace {

using senti::BertTokenizer;
using senti::fuzz::fail;

const std::vector<BertTokenizer>& tokenizers() {
  static const std::vector<BertTokenizer> all = [] {
    const senti::Vocab vocab = senti::Vocab::load(senti::fuzz::tiny_model_dir() / "vocab.txt");
    std::vector<BertTokenizer> out;
    for (int variant = 0; variant < 4; ++variant) {
      senti::TokenizerOptions options;
      options.do_lower_case = (variant & 1) == 0;
      if (variant == 2) options.strip_accents = true;
      options.tokenize_chinese_chars = variant != 3;
      options.max_input_chars_per_word = variant == 1 ? 8 : 100;
      out.emplace_back(vocab, options);
    }
    return out;
  }();
  return all;
}

void check(const BertTokenizer& tokenizer, std::string_view text, std::optional<std::string_view> pair,
           std::size_t max_length) {
  if (pair && pair->empty()) pair.reset();  // as transformers: an empty second text is no second text
  const bool valid = senti::serving::is_valid_utf8(text) && (!pair || senti::serving::is_valid_utf8(*pair));
  senti::Encoding e;
  try {
    e = tokenizer.encode(text, pair, max_length);
  } catch (const senti::InvalidInputError&) {
    if (valid) fail("valid UTF-8 was refused");
    return;
  }
  if (!valid) fail("invalid UTF-8 was accepted");
  const auto& vocab = tokenizer.vocab();
  const auto cls = *vocab.find(tokenizer.options().cls_token);
  const auto sep = *vocab.find(tokenizer.options().sep_token);
  const std::size_t n = e.input_ids.size();
  if (n < (pair ? 3u : 2u)) fail("fewer tokens than the special tokens");
  if (e.token_type_ids.size() != n) fail("token_type_ids and input_ids differ in length");
  if (n > max_length && n > (pair ? 3u : 2u)) fail("longer than max_length");
  if (e.input_ids.front() != cls || e.input_ids.back() != sep) fail("not framed by [CLS] ... [SEP]");
  std::size_t seps = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (e.input_ids[i] < 0 || static_cast<std::size_t>(e.input_ids[i]) >= vocab.size()) fail("id outside the vocab");
    if (e.token_type_ids[i] != 0 && e.token_type_ids[i] != 1) fail("token_type_id not 0 or 1");
    if (i > 0 && e.token_type_ids[i] < e.token_type_ids[i - 1]) fail("token_type_ids not 0s then 1s");
    if (!pair && e.token_type_ids[i] != 0) fail("token_type_id 1 without a pair");
    if (e.input_ids[i] == sep) ++seps;
  }
  if (seps < (pair ? 2u : 1u)) fail("missing [SEP]");
  if (!pair && !e.truncated) {
    // The middle is exactly the word pieces of tokenize().
    const std::vector<std::string> pieces = tokenizer.tokenize(text);
    if (pieces.size() != n - 2) fail("encode() and tokenize() disagree on the number of pieces");
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      const auto id = vocab.find(pieces[i]);
      if (!id || *id != e.input_ids[i + 1]) fail("encode() and tokenize() disagree on piece " + std::to_string(i));
    }
  }
  if (e.truncated && n != max_length) fail("truncated but not to max_length");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t control = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const BertTokenizer& tokenizer = tokenizers()[control & 3u];
  static constexpr std::size_t kMaxLengths[] = {512, 3, 8, 64};
  const std::size_t max_length = kMaxLengths[(control >> 2) & 3u];
  std::optional<std::string_view> pair;
  std::string_view text = rest;
  if ((control & 0x10u) != 0) {
    if (const std::size_t zero = rest.find('\0'); zero != std::string_view::npos) {
      text = rest.substr(0, zero);
      pair = rest.substr(zero + 1);
    }
  }
  check(tokenizer, text, pair, max_length);
  return 0;
}
