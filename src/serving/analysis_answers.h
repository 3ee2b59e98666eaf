// The "why and where" vocabulary every API shares: three request parameters in, three answer fields out.
//   explain      true | false (JSON boolean; also 1 and 0, and the strings "true", "false", "1", "0", as a
//                query sends them)
//   granularity  "text" | "sentence"
//   long_text    "truncate" | "chunk"
// out, per input:
//   "explanation"  [{"text", "start", "end", "weight"}...]   when explain is true
//   "sentences"    [{"text", "start", "end", "label", "sentiment", "score"[, "chunks"]}...]
//                                                             when granularity is "sentence"
//   "chunks"       N, the windows the text was classified in  when long_text is given (also per sentence)
// Spans are [start, end) in code points of the input text (senti/analysis.h has the rules). A request
// that gives any of the three parameters is an analysis request (Service::analyze); a bad value is a
// 400 that names the allowed ones.
#pragma once

#include <functional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "senti/analysis.h"

namespace senti::serving {

struct AnalysisRequest {
  bool explain_given = false;
  bool granularity_given = false;
  bool long_text_given = false;
  AnalysisOptions options;

  // Any of the three parameters was given: the request takes the analysis path and its answer shape.
  bool any() const { return explain_given || granularity_given || long_text_given; }
  bool explanation() const { return options.explain; }
  bool sentences() const { return options.granularity == Granularity::sentence; }
  bool chunks() const { return long_text_given; }
};

// Reads explain, granularity and long_text through `find` (the value of a key, nullptr when absent;
// a JSON null counts as absent). Throws detail::RequestError 400 for a value of the wrong type or not
// one of the choices.
using ParameterLookup = std::function<const nlohmann::json*(std::string_view key)>;
AnalysisRequest read_analysis_request(const ParameterLookup& find);
// The same from a JSON object of parameters (nullptr: none given).
AnalysisRequest read_analysis_request(const nlohmann::json* parameters);

// The answer fields of one analysed input.
nlohmann::ordered_json explanation_json(const Analysis& analysis);
nlohmann::ordered_json sentences_json(const Analysis& analysis, bool with_chunks);
// Adds to `out` the fields the request asks for ("explanation", "sentences", "chunks"), in that order.
void add_analysis_fields(nlohmann::ordered_json& out, const Analysis& analysis, const AnalysisRequest& request);

}  // namespace senti::serving
