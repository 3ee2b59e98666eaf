// Analyses of a batch of texts in one model run, a text the rules reject (invalid UTF-8, no tokens)
// getting its own error instead of failing the batch. Used by predict and classify.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "senti/analysis.h"
#include "senti/classifier.h"

namespace senti::cli {

struct AnalysisOutcome {
  std::optional<Analysis> analysis;  // set unless the text was rejected
  std::string error;                 // why it was rejected
};

std::vector<AnalysisOutcome> analyze_each(Classifier& classifier, const std::vector<std::string>& texts,
                                          const AnalysisOptions& options);

}  // namespace senti::cli
