#include "cli/analysis_batch.h"

#include <cstddef>
#include <iterator>

namespace senti::cli {

std::vector<AnalysisOutcome> analyze_each(Classifier& classifier, const std::vector<std::string>& texts,
                                          const AnalysisOptions& options) {
  std::vector<AnalysisOutcome> out(texts.size());
  std::vector<std::optional<AnalysisPlan>> plans(texts.size());
  std::vector<Encoding> all;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    try {
      plans[i].emplace(classifier, texts[i], options);
      all.insert(all.end(), plans[i]->encodings().begin(), plans[i]->encodings().end());
    } catch (const InvalidInputError& e) {
      out[i].error = e.what();
    }
  }
  const std::vector<Prediction> predictions = classifier.classify(all);
  auto next = predictions.begin();
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (!plans[i]) continue;
    const auto k = static_cast<std::ptrdiff_t>(plans[i]->encodings().size());
    out[i].analysis = plans[i]->finish(std::vector<Prediction>(next, next + k));
    next += k;
  }
  return out;
}

}  // namespace senti::cli
