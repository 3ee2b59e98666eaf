// BertTokenizer::from_folder: vocab.txt plus the options of tokenizer_config.json.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "senti/error.h"
#include "senti/tokenizer.h"

namespace senti {
namespace {

using nlohmann::json;

// transformers writes int(1e30) when a model declares no maximum length.
constexpr double kNoMaxLengthThreshold = 1e15;
constexpr std::size_t kDefaultMaxLength = 512;

json read_json(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError("cannot open " + path.string());
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  json j = json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw ModelError(path.string() + " is not valid JSON");
  if (!j.is_object()) throw ModelError(path.string() + " must hold a JSON object");
  return j;
}

bool get_bool(const json& j, const char* key, bool fallback, const std::filesystem::path& file) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) throw ModelError(file.string() + ": \"" + key + "\" must be true or false");
  return it->get<bool>();
}

// A special token is written either as a string or as an AddedToken object {"content": ...}.
void get_token(const json& j, const char* key, std::string& out, const std::filesystem::path& file) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  if (it->is_string()) {
    out = it->get<std::string>();
  } else if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
    out = (*it)["content"].get<std::string>();
  } else {
    throw ModelError(file.string() + ": \"" + key + "\" must be a string or an object with \"content\"");
  }
}

}  // namespace

BertTokenizer BertTokenizer::from_folder(const std::filesystem::path& dir, std::size_t max_position_embeddings) {
  Vocab vocab = Vocab::load(dir / "vocab.txt");
  TokenizerOptions opt;
  std::size_t max_len = kDefaultMaxLength;

  const auto cfg_path = dir / "tokenizer_config.json";
  std::error_code ec;
  if (std::filesystem::exists(cfg_path, ec)) {
    const json cfg = read_json(cfg_path);
    if (auto it = cfg.find("tokenizer_class"); it != cfg.end() && it->is_string()) {
      const auto cls = it->get<std::string>();
      if (cls.find("Bert") == std::string::npos && cls.find("Electra") == std::string::npos) {
        throw ModelError(cfg_path.string() + ": tokenizer_class \"" + cls +
                         "\" is not supported (senti implements BERT WordPiece tokenization only)");
      }
    }
    if (!get_bool(cfg, "do_basic_tokenize", true, cfg_path)) {
      throw ModelError(cfg_path.string() + ": do_basic_tokenize=false is not supported");
    }
    opt.do_lower_case = get_bool(cfg, "do_lower_case", opt.do_lower_case, cfg_path);
    if (auto it = cfg.find("strip_accents"); it != cfg.end() && !it->is_null()) {
      if (!it->is_boolean()) throw ModelError(cfg_path.string() + ": \"strip_accents\" must be true, false or null");
      opt.strip_accents = it->get<bool>();
    }
    opt.tokenize_chinese_chars = get_bool(cfg, "tokenize_chinese_chars", opt.tokenize_chinese_chars, cfg_path);
    get_token(cfg, "unk_token", opt.unk_token, cfg_path);
    get_token(cfg, "cls_token", opt.cls_token, cfg_path);
    get_token(cfg, "sep_token", opt.sep_token, cfg_path);
    get_token(cfg, "pad_token", opt.pad_token, cfg_path);
    get_token(cfg, "mask_token", opt.mask_token, cfg_path);
    if (auto it = cfg.find("model_max_length"); it != cfg.end() && !it->is_null()) {
      if (!it->is_number()) throw ModelError(cfg_path.string() + ": \"model_max_length\" must be a number");
      const double v = it->get<double>();
      if (!(v >= 1) || std::floor(v) != v) {
        throw ModelError(cfg_path.string() + ": \"model_max_length\" must be a positive integer");
      }
      if (v < kNoMaxLengthThreshold) max_len = static_cast<std::size_t>(v);
    }
  }
  if (max_position_embeddings > 0) max_len = std::min(max_len, max_position_embeddings);
  opt.model_max_length = max_len;
  return BertTokenizer(std::move(vocab), std::move(opt));
}

}  // namespace senti
