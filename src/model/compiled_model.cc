#include "model/compiled_model.h"

#include <vector>

#include "model/json_integers.h"
#include "senti/error.h"

namespace senti::model {

nlohmann::json tokenizer_to_json(const BertTokenizer& tokenizer) {
  const TokenizerOptions& o = tokenizer.options();
  nlohmann::json j = {{"do_lower_case", o.do_lower_case},
                      {"strip_accents", nullptr},
                      {"tokenize_chinese_chars", o.tokenize_chinese_chars},
                      {"max_input_chars_per_word", o.max_input_chars_per_word},
                      {"unk_token", o.unk_token},
                      {"cls_token", o.cls_token},
                      {"sep_token", o.sep_token},
                      {"pad_token", o.pad_token},
                      {"mask_token", o.mask_token},
                      {"model_max_length", o.model_max_length}};
  if (o.strip_accents) j["strip_accents"] = *o.strip_accents;
  std::vector<std::string> vocab;
  vocab.reserve(tokenizer.vocab().size());
  for (std::size_t i = 0; i < tokenizer.vocab().size(); ++i) vocab.push_back(tokenizer.vocab().token(static_cast<int32_t>(i)));
  j["vocab"] = std::move(vocab);
  return j;
}

BertTokenizer tokenizer_from_json(const nlohmann::json& j, const std::string& origin) {
  try {
    TokenizerOptions o;
    o.do_lower_case = j.at("do_lower_case").get<bool>();
    if (!j.at("strip_accents").is_null()) o.strip_accents = j.at("strip_accents").get<bool>();
    o.tokenize_chinese_chars = j.at("tokenize_chinese_chars").get<bool>();
    o.max_input_chars_per_word = json_integer<std::size_t>(j.at("max_input_chars_per_word"), origin + ": max_input_chars_per_word");
    o.unk_token = j.at("unk_token").get<std::string>();
    o.cls_token = j.at("cls_token").get<std::string>();
    o.sep_token = j.at("sep_token").get<std::string>();
    o.pad_token = j.at("pad_token").get<std::string>();
    o.mask_token = j.at("mask_token").get<std::string>();
    o.model_max_length = json_integer<std::size_t>(j.at("model_max_length"), origin + ": model_max_length");
    return BertTokenizer(Vocab::from_tokens(j.at("vocab").get<std::vector<std::string>>()), std::move(o));
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(origin + ": bad tokenizer metadata: " + e.what());
  }
}

}  // namespace senti::model
