// An Analysis in the HTTP API's vocabulary, for predict and classify alike:
//   "explanation": [{"text", "start", "end", "weight"}...]   (spans in code points of the text)
//   "sentences":   [{"text", "start", "end", "label", "score"}...]
//   "chunks":      N
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "senti/analysis.h"

namespace senti::cli {

nlohmann::ordered_json explanation_json(const std::vector<WordWeight>& words);
nlohmann::ordered_json sentence_json(const SentenceResult& sentence);

// The fields the options asked for: "explanation" (explain), "sentences" (granularity sentence),
// "chunks" (long_text chunk), in that order.
nlohmann::ordered_json analysis_json(const Analysis& analysis, const AnalysisOptions& options);

// JSON text as senti writes it: one line, invalid UTF-8 replaced (never expected: the tokenizer rejects it).
std::string json_line(const nlohmann::ordered_json& j);

}  // namespace senti::cli
