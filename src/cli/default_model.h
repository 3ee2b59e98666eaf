// Where the embedded default model is found when no --model is given.
#pragma once

#include <filesystem>
#include <string>

namespace senti::cli {

inline constexpr const char* kDefaultModelName = "senti-zh-sentiment";

// $SENTI_MODEL if set; else the model installed beside the binary (<prefix>/share/senti/models),
// else the source tree's models/ folder (running from the build tree). Throws senti::ModelError
// listing the places it looked when none exists.
std::filesystem::path default_model_path();

// The --model value if given, else default_model_path().
std::filesystem::path resolve_model(const std::string& option);

}  // namespace senti::cli
