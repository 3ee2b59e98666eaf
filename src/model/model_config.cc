// config.json -> BertConfig, with validation of everything the runtime relies on.
#include "senti/model_config.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>
#include <nlohmann/json.hpp>

#include "senti/error.h"

namespace senti {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& origin, const std::string& what) {
  throw ModelError(origin + ": " + what);
}

std::size_t positive_int(const json& j, const char* key, const std::string& origin, bool required,
                         std::size_t fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) fail(origin, std::string("missing required setting \"") + key + "\"");
    return fallback;
  }
  if (!it->is_number_integer()) {
    fail(origin, std::string("\"") + key + "\" must be a positive integer, got " + it->dump());
  }
  if (it->is_number_unsigned()) {
    const auto v = it->get<std::uint64_t>();
    if (v > 0 && v <= std::numeric_limits<std::uint32_t>::max()) return static_cast<std::size_t>(v);
  } else {
    const auto v = it->get<std::int64_t>();
    if (v > 0 && v <= std::numeric_limits<std::uint32_t>::max()) return static_cast<std::size_t>(v);
  }
  fail(origin, std::string("\"") + key + "\" must be a positive integer, got " + it->dump());
}

std::string string_setting(const json& j, const char* key, const std::string& origin,
                           const std::string& fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_string()) fail(origin, std::string("\"") + key + "\" must be a string, got " + it->dump());
  return it->get<std::string>();
}

// Parses a label index key such as "0"; returns false for anything else.
bool parse_index(const std::string& s, std::size_t& out) {
  if (s.empty() || s.size() > 9) return false;
  std::size_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::size_t>(c - '0');
  }
  out = v;
  return true;
}

std::vector<std::string> read_labels(const json& j, const std::string& origin) {
  std::size_t declared = 0;
  const bool has_num = j.contains("num_labels") && !j["num_labels"].is_null();
  if (has_num) declared = positive_int(j, "num_labels", origin, true, 0);

  auto it = j.find("id2label");
  if (it == j.end() || it->is_null()) {
    const std::size_t n = has_num ? declared : 2;  // Hugging Face's default
    std::vector<std::string> labels;
    for (std::size_t i = 0; i < n; ++i) labels.push_back("LABEL_" + std::to_string(i));
    return labels;
  }
  if (!it->is_object() || it->empty()) {
    fail(origin, "\"id2label\" must be a non-empty object such as {\"0\": \"negative\", \"1\": \"positive\"}");
  }
  std::vector<std::string> labels(it->size());
  std::vector<bool> seen(it->size(), false);
  for (const auto& [key, value] : it->items()) {
    std::size_t id = 0;
    if (!parse_index(key, id) || id >= labels.size()) {
      fail(origin, "\"id2label\" keys must be the ids 0.." + std::to_string(labels.size() - 1) +
                       ", got \"" + key + "\"");
    }
    if (!value.is_string()) fail(origin, "\"id2label\"[\"" + key + "\"] must be a string");
    labels[id] = value.get<std::string>();
    seen[id] = true;
  }
  for (std::size_t i = 0; i < seen.size(); ++i) {
    if (!seen[i]) fail(origin, "\"id2label\" has no label for id " + std::to_string(i));
  }
  if (has_num && declared != labels.size()) {
    fail(origin, "\"num_labels\" is " + std::to_string(declared) + " but \"id2label\" has " +
                     std::to_string(labels.size()) + " labels");
  }
  return labels;
}

std::vector<std::string> read_label_display(const json& j, const std::vector<std::string>& labels,
                                            const std::string& origin) {
  std::vector<std::string> display = labels;
  auto it = j.find("senti_label_display");
  if (it == j.end() || it->is_null()) return display;
  if (!it->is_object()) {
    fail(origin, "\"senti_label_display\" must be an object such as {\"0\": \"负面\", \"1\": \"正面\"}");
  }
  std::vector<bool> named(labels.size(), false);
  for (const auto& [key, value] : it->items()) {
    if (!value.is_string()) fail(origin, "\"senti_label_display\"[\"" + key + "\"] must be a string");
    std::size_t id = 0;
    bool found = parse_index(key, id) && id < labels.size();
    if (!found) {  // also accept the label name as key
      for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] == key) {
          id = i;
          found = true;
          break;
        }
      }
    }
    if (!found) {
      fail(origin, "\"senti_label_display\" key \"" + key + "\" is neither a label id (0.." +
                       std::to_string(labels.size() - 1) + ") nor a label name");
    }
    display[id] = value.get<std::string>();
    named[id] = true;
  }
  // A partial map is most likely stale (written for another label set): showing some labels by their
  // display name and others by id2label would mislead, so it is refused.
  std::string missing;
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (!named[i]) missing += (missing.empty() ? "" : ", ") + std::to_string(i) + " (\"" + labels[i] + "\")";
  if (!missing.empty()) {
    fail(origin, "\"senti_label_display\" does not match \"id2label\": it names " +
                     std::to_string(labels.size() - static_cast<std::size_t>(std::count(named.begin(), named.end(), false))) +
                     " of the " + std::to_string(labels.size()) + " labels (no display name for id " + missing +
                     "); give every label a display name or remove \"senti_label_display\"");
  }
  return display;
}

}  // namespace

BertConfig BertConfig::from_json_string(const std::string& text, const std::string& origin) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    fail(origin, std::string("invalid JSON: ") + e.what());
  }
  if (!j.is_object()) fail(origin, "expected a JSON object at the top level");

  try {
    BertConfig c;
    c.vocab_size = positive_int(j, "vocab_size", origin, true, 0);
    c.hidden_size = positive_int(j, "hidden_size", origin, true, 0);
    c.num_hidden_layers = positive_int(j, "num_hidden_layers", origin, true, 0);
    c.num_attention_heads = positive_int(j, "num_attention_heads", origin, true, 0);
    c.intermediate_size = positive_int(j, "intermediate_size", origin, true, 0);
    c.max_position_embeddings = positive_int(j, "max_position_embeddings", origin, false, 512);
    c.type_vocab_size = positive_int(j, "type_vocab_size", origin, false, 2);
    if (auto it = j.find("layer_norm_eps"); it != j.end() && !it->is_null()) {
      if (!it->is_number() || !(it->get<double>() > 0.0) || it->get<double>() > 1.0) {
        fail(origin, "\"layer_norm_eps\" must be a small positive number, got " + it->dump());
      }
      c.layer_norm_eps = static_cast<float>(it->get<double>());
    }
    c.hidden_act = string_setting(j, "hidden_act", origin, "gelu");
    if (c.hidden_act != "gelu") {
      fail(origin, "unsupported \"hidden_act\": \"" + c.hidden_act +
                       "\" (senti implements only \"gelu\", the exact erf GELU)");
    }
    c.position_embedding_type = string_setting(j, "position_embedding_type", origin, "absolute");
    if (c.position_embedding_type != "absolute") {
      fail(origin, "unsupported \"position_embedding_type\": \"" + c.position_embedding_type +
                       "\" (senti supports only \"absolute\")");
    }
    if (c.hidden_size % c.num_attention_heads != 0) {
      fail(origin, "\"hidden_size\" (" + std::to_string(c.hidden_size) +
                       ") is not a multiple of \"num_attention_heads\" (" +
                       std::to_string(c.num_attention_heads) + ")");
    }
    if (auto it = j.find("model_type"); it != j.end() && it->is_string()) {
      const auto type = it->get<std::string>();
      if (type != "bert") {
        fail(origin, "unsupported \"model_type\": \"" + type + "\" (senti supports only \"bert\")");
      }
    }
    c.labels = read_labels(j, origin);
    c.label_display = read_label_display(j, c.labels, origin);
    if (auto it = j.find("senti_temperature"); it != j.end() && !it->is_null()) {
      if (!it->is_number() || !(it->get<double>() >= 0.01) || !(it->get<double>() <= 100.0)) {
        fail(origin, "\"senti_temperature\" must be a number in [0.01, 100] (the calibration temperature), got " +
                         it->dump());
      }
      c.score_temperature = static_cast<float>(it->get<double>());
    }
    return c;
  } catch (const json::exception& e) {
    fail(origin, std::string("malformed setting: ") + e.what());
  }
}

BertConfig BertConfig::from_json_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError(path.string() + ": cannot open config file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return from_json_string(ss.str(), path.string());
}

}  // namespace senti
