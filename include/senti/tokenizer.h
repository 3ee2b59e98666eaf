// Hugging Face BertTokenizer, reimplemented: BasicTokenizer (cleaning, CJK splitting, lower-casing,
// accent stripping, punctuation splitting) followed by WordPiece, then [CLS]/[SEP] framing,
// token_type_ids for sentence pairs and "longest_first" truncation.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace senti {

// vocab.txt: one token per line, the line number is the id.
class Vocab {
 public:
  static Vocab load(const std::filesystem::path& path);  // throws ModelError
  static Vocab from_tokens(std::vector<std::string> tokens);

  std::optional<int32_t> find(std::string_view token) const;
  const std::string& token(int32_t id) const;
  std::size_t size() const { return tokens_.size(); }

 private:
  // Transparent hashing, so that find() looks string_views up without building a std::string.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> ids_;
};

struct TokenizerOptions {
  bool do_lower_case = true;
  // Hugging Face semantics: unset means "follow do_lower_case".
  std::optional<bool> strip_accents;
  bool tokenize_chinese_chars = true;
  std::size_t max_input_chars_per_word = 100;
  std::string unk_token = "[UNK]";
  std::string cls_token = "[CLS]";
  std::string sep_token = "[SEP]";
  std::string pad_token = "[PAD]";
  // Default truncation length of encode() (special tokens included).
  std::size_t model_max_length = 512;
  // Also recognised as a special token when it appears verbatim in the input (as HF does).
  std::string mask_token = "[MASK]";
};

// One token of a text and the characters it came from: [start, end) in code points of the original
// text (text[start:end] in Python), as Hugging Face's offset mapping. Characters that text cleaning
// drops (controls, zero-width) belong to no token.
struct TokenSpan {
  int32_t id = 0;
  std::size_t start = 0;
  std::size_t end = 0;
};

// One encoded input, ready for the model. The attention mask is all ones (no padding is ever added).
struct Encoding {
  std::vector<int32_t> input_ids;
  std::vector<int32_t> token_type_ids;
  bool truncated = false;  // true when tokens were dropped to fit max_length
};

class BertTokenizer {
 public:
  BertTokenizer(Vocab vocab, TokenizerOptions options);

  // Reads vocab.txt plus tokenizer_config.json / config.json (when present) from a model folder.
  // max_position_embeddings caps model_max_length.
  static BertTokenizer from_folder(const std::filesystem::path& dir, std::size_t max_position_embeddings);

  // Word pieces of one text, without special tokens. Throws InvalidInputError on invalid UTF-8.
  std::vector<std::string> tokenize(std::string_view text) const;

  // The tokens of tokenize(), as ids, each with its span in the original text.
  std::vector<TokenSpan> tokenize_with_offsets(std::string_view text) const;

  // [CLS] a [SEP] (b [SEP]) with token_type_ids, truncated with HF's "longest_first" strategy to
  // max_length (0: options().model_max_length). Throws InvalidInputError on invalid UTF-8.
  Encoding encode(std::string_view text, std::optional<std::string_view> pair = std::nullopt,
                  std::size_t max_length = 0) const;

  const Vocab& vocab() const { return vocab_; }
  const TokenizerOptions& options() const { return options_; }

 private:
  Vocab vocab_;
  TokenizerOptions options_;
  int32_t unk_id_ = 0, cls_id_ = 0, sep_id_ = 0;
  // Special tokens found verbatim in the raw input are emitted as-is (longest first), like HF's
  // added-token matching: {text, id}.
  std::vector<std::pair<std::string, int32_t>> specials_;

  void append_ids(std::string_view text, std::size_t base_offset, std::vector<int32_t>& out) const;
  // The first special token at or after byte `from` (leftmost, longest): its offset, with `hit` set; or
  // text.size() with `hit` null. Shared by append_ids and tokenize_with_offsets.
  std::size_t find_special(std::string_view text, std::size_t from, const std::pair<std::string, int32_t>*& hit) const;
};

}  // namespace senti
