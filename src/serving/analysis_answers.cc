// Reading the analysis parameters and writing an Analysis as JSON, for every API (analysis_answers.h).
#include "serving/analysis_answers.h"

#include <cstdint>
#include <string>

#include "senti/text_rules.h"
#include "serving/service_detail.h"

namespace senti::serving {

using nlohmann::json;
using nlohmann::ordered_json;
using detail::reject;

namespace {

bool read_explain(const json& v) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer() && (v.get<std::int64_t>() == 0 || v.get<std::int64_t>() == 1)) return v.get<std::int64_t>() == 1;
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s == "true" || s == "1") return true;
    if (s == "false" || s == "0") return false;
    reject(400, "\"explain\" must be true or false (or 1 or 0), got \"" + excerpt(s, 40) + "\"");
  }
  reject(400, "\"explain\" must be true or false (or 1 or 0)");
}

// The choice named by a string parameter; the parser names the choices when it is not one of them.
template <typename Parse>
auto read_choice(const json& v, const char* key, const char* choices, Parse parse) {
  if (!v.is_string()) reject(400, std::string("\"") + key + "\" must be a string: " + choices);
  try {
    return parse(v.get_ref<const std::string&>());
  } catch (const InvalidInputError& e) {
    reject(400, e.what());
  }
}

}  // namespace

AnalysisRequest read_analysis_request(const ParameterLookup& find) {
  AnalysisRequest r;
  if (const json* v = find("explain"); v != nullptr && !v->is_null()) {
    r.explain_given = true;
    r.options.explain = read_explain(*v);
  }
  if (const json* v = find("granularity"); v != nullptr && !v->is_null()) {
    r.granularity_given = true;
    r.options.granularity = read_choice(*v, "granularity", "\"text\" or \"sentence\"", parse_granularity);
  }
  if (const json* v = find("long_text"); v != nullptr && !v->is_null()) {
    r.long_text_given = true;
    r.options.long_text = read_choice(*v, "long_text", "\"truncate\" or \"chunk\"", parse_long_text);
  }
  return r;
}

AnalysisRequest read_analysis_request(const json* parameters) {
  return read_analysis_request([parameters](std::string_view key) -> const json* {
    if (parameters == nullptr || !parameters->is_object()) return nullptr;
    const auto it = parameters->find(std::string(key));
    return it == parameters->end() ? nullptr : &*it;
  });
}

ordered_json explanation_json(const Analysis& analysis) {
  ordered_json out = ordered_json::array();
  for (const WordWeight& w : analysis.explanation)
    out.push_back({{"text", w.text}, {"start", w.start}, {"end", w.end}, {"weight", w.weight}});
  return out;
}

ordered_json sentences_json(const Analysis& analysis, bool with_chunks) {
  ordered_json out = ordered_json::array();
  for (const SentenceResult& s : analysis.sentences) {
    const Prediction& p = s.prediction;
    ordered_json o = {{"text", s.text},
                      {"start", s.start},
                      {"end", s.end},
                      {"label", p.label},
                      {"sentiment", p.display_label.empty() ? p.label : p.display_label},
                      {"score", p.score}};
    if (with_chunks) o["chunks"] = s.chunks;
    out.push_back(std::move(o));
  }
  return out;
}

void add_analysis_fields(ordered_json& out, const Analysis& analysis, const AnalysisRequest& request) {
  if (request.explanation()) out["explanation"] = explanation_json(analysis);
  if (request.sentences()) out["sentences"] = sentences_json(analysis, request.chunks());
  if (request.chunks()) out["chunks"] = analysis.chunks;
}

}  // namespace senti::serving
