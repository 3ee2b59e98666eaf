// Where the embedded default model (and make-model's default vocab) is found when none is given.
#pragma once

#include <filesystem>
#include <string>

namespace senti::cli {

inline constexpr const char* kDefaultModelName = "senti-zh-sentiment";

// $SENTI_MODEL if set; else the model installed beside the binary (<prefix>/share/senti/models),
// else the source tree's models/ folder (running from the build tree). Throws senti::ModelError
// listing the places it looked when none exists.
std::filesystem::path default_model_path();

inline constexpr const char* kDefaultVocabName = "bert-base-chinese-vocab.txt";

// make-model's default vocabulary: <prefix>/share/senti/vocab/ beside the binary, else the configured
// install prefix's, else the source tree's data/vocab/. Throws senti::InvalidInputError when none exists.
std::filesystem::path default_vocab_path();

// The --model value if given, else default_model_path().
std::filesystem::path resolve_model(const std::string& option);

}  // namespace senti::cli
