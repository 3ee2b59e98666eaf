// BertTokenizer: special-token matching, basic tokenization + WordPiece, [CLS]/[SEP] framing,
// token_type_ids and truncation.
#include <algorithm>

#include "senti/error.h"
#include "senti/tokenizer.h"
#include "tokenizer/basic_tokenizer.h"
#include "tokenizer/truncation.h"
#include "tokenizer/utf8.h"
#include "tokenizer/wordpiece.h"

namespace senti {
namespace {

int32_t require_token(const Vocab& vocab, const std::string& token, const char* role) {
  if (token.empty()) throw ModelError(std::string("the ") + role + " token is empty");
  auto id = vocab.find(token);
  if (!id) throw ModelError(std::string("the ") + role + " token \"" + token + "\" is not in the vocabulary");
  return *id;
}

}  // namespace

BertTokenizer::BertTokenizer(Vocab vocab, TokenizerOptions options)
    : vocab_(std::move(vocab)), options_(std::move(options)) {
  unk_id_ = require_token(vocab_, options_.unk_token, "unknown");
  cls_id_ = require_token(vocab_, options_.cls_token, "CLS");
  sep_id_ = require_token(vocab_, options_.sep_token, "SEP");
  if (options_.max_input_chars_per_word == 0) throw ModelError("max_input_chars_per_word must be positive");
  for (const std::string* t : {&options_.unk_token, &options_.cls_token, &options_.sep_token,
                               &options_.pad_token, &options_.mask_token}) {
    if (t->empty()) continue;
    auto id = vocab_.find(*t);
    if (!id) continue;  // HF would append it to the vocabulary; senti only matches known tokens
    if (std::none_of(specials_.begin(), specials_.end(), [&](const auto& s) { return s.first == *t; })) {
      specials_.emplace_back(*t, *id);
    }
  }
  // Longest first, so that leftmost-longest matching needs only the first hit.
  std::stable_sort(specials_.begin(), specials_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

void BertTokenizer::append_ids(std::string_view text, std::size_t base_offset, std::vector<int32_t>& out) const {
  using namespace tokenizer_detail;
  // Invalid UTF-8 is reported by the segment decoder, with offsets into the whole input (special
  // tokens are ASCII, so a match never starts inside a valid multi-byte sequence).
  const BasicTokenizer basic({options_.do_lower_case, options_.strip_accents.value_or(options_.do_lower_case),
                              options_.tokenize_chinese_chars});
  const WordPiece wordpiece(vocab_, unk_id_, options_.max_input_chars_per_word);
  BasicScratch bscratch;
  WordPieceScratch wscratch;
  auto run_segment = [&](std::size_t from, std::size_t to) {
    if (to <= from) return;
    basic.run(text.substr(from, to - from), base_offset + from, bscratch,
              [&](std::span<const char32_t> word) { wordpiece.tokenize(word, wscratch, out); });
  };

  std::size_t seg_start = 0;
  for (;;) {
    const std::pair<std::string, int32_t>* hit = nullptr;
    const std::size_t at = find_special(text, seg_start, hit);
    run_segment(seg_start, at);
    if (!hit) break;
    out.push_back(hit->second);
    seg_start = at + hit->first.size();
  }
}

std::size_t BertTokenizer::find_special(std::string_view text, std::size_t from,
                                        const std::pair<std::string, int32_t>*& hit) const {
  for (std::size_t i = from; i < text.size(); ++i) {
    for (const auto& s : specials_) {
      if (text[i] == s.first[0] && text.substr(i, s.first.size()) == s.first) {
        hit = &s;
        return i;
      }
    }
  }
  hit = nullptr;
  return text.size();
}

std::vector<std::string> BertTokenizer::tokenize(std::string_view text) const {
  std::vector<int32_t> ids;
  append_ids(text, 0, ids);
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) tokens.push_back(vocab_.token(id));
  return tokens;
}

Encoding BertTokenizer::encode(std::string_view text, std::optional<std::string_view> pair,
                               std::size_t max_length) const {
  if (max_length == 0) max_length = options_.model_max_length;
  // transformers treats an empty second text as no second text at all (`if text_pair:`).
  if (pair && pair->empty()) pair.reset();
  Encoding enc;
  std::vector<int32_t> a;
  a.reserve(text.size() + 2);
  append_ids(text, 0, a);
  if (!pair) {
    // As in HF, a max_length below the number of special tokens disables truncation.
    if (max_length >= 2 && a.size() + 2 > max_length) {
      a.resize(max_length - 2);
      enc.truncated = true;
    }
    enc.input_ids.reserve(a.size() + 2);
    enc.input_ids.push_back(cls_id_);
    enc.input_ids.insert(enc.input_ids.end(), a.begin(), a.end());
    enc.input_ids.push_back(sep_id_);
    enc.token_type_ids.assign(enc.input_ids.size(), 0);
    return enc;
  }
  std::vector<int32_t> b;
  b.reserve(pair->size() + 1);
  append_ids(*pair, 0, b);
  if (max_length >= 3 && a.size() + b.size() + 3 > max_length) {
    const auto kept = tokenizer_detail::longest_first(a.size(), b.size(), max_length - 3);
    enc.truncated = kept.first < a.size() || kept.second < b.size();
    a.resize(kept.first);
    b.resize(kept.second);
  }
  enc.input_ids.reserve(a.size() + b.size() + 3);
  enc.input_ids.push_back(cls_id_);
  enc.input_ids.insert(enc.input_ids.end(), a.begin(), a.end());
  enc.input_ids.push_back(sep_id_);
  enc.token_type_ids.assign(enc.input_ids.size(), 0);
  enc.input_ids.insert(enc.input_ids.end(), b.begin(), b.end());
  enc.input_ids.push_back(sep_id_);
  enc.token_type_ids.resize(enc.input_ids.size(), 1);
  return enc;
}

}  // namespace senti
