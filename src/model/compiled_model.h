// What a compiled model stores besides weights: the tokenizer (options and vocabulary) as JSON,
// so that a .senti file needs no folder next to it.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "senti/tokenizer.h"

namespace senti::model {

nlohmann::json tokenizer_to_json(const BertTokenizer& tokenizer);
// Throws ModelError naming `origin` when the JSON is incomplete or malformed.
BertTokenizer tokenizer_from_json(const nlohmann::json& j, const std::string& origin);

}  // namespace senti::model
