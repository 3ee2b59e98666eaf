#include "cli/analysis_json.h"

namespace senti::cli {

nlohmann::ordered_json explanation_json(const std::vector<WordWeight>& words) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const WordWeight& w : words)
    list.push_back({{"text", w.text}, {"start", w.start}, {"end", w.end}, {"weight", w.weight}});
  return list;
}

nlohmann::ordered_json sentence_json(const SentenceResult& s) {
  return {{"text", s.text}, {"start", s.start}, {"end", s.end}, {"label", s.prediction.label},
          {"score", s.prediction.score}};
}

nlohmann::ordered_json analysis_json(const Analysis& analysis, const AnalysisOptions& options) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  if (options.explain) out["explanation"] = explanation_json(analysis.explanation);
  if (options.granularity == Granularity::sentence) {
    nlohmann::ordered_json sentences = nlohmann::ordered_json::array();
    for (const SentenceResult& s : analysis.sentences) sentences.push_back(sentence_json(s));
    out["sentences"] = std::move(sentences);
  }
  if (options.long_text == LongText::chunk) out["chunks"] = analysis.chunks;
  return out;
}

std::string json_line(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace senti::cli
