// How a labelled file names a label, shared by `senti eval` and `senti compile --calibration`: an
// integer id, a digit string, an id2label name ("positive") or its display form (正面).
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "senti/model_config.h"

namespace senti::cli {

// The label id that `value` names. Throws InvalidInputError prefixed with `where` ("FILE:LINE: ")
// for an id out of range, an unknown name (listing the known ones) or a value of another type.
std::size_t resolve_label(const nlohmann::json& value, const BertConfig& config, const std::string& where);

}  // namespace senti::cli
