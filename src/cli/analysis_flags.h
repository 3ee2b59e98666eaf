// --explain, --granularity and --long-text, shared by predict and classify (the HTTP API's explain,
// granularity and long_text; senti/analysis.h has the rules).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "senti/analysis.h"

namespace senti::cli {

struct AnalysisFlags {
  bool explain = false;
  std::string granularity = "text";
  std::string long_text = "truncate";
};

// Registers the three flags on cmd, storing into flags.
void add_analysis_flags(CLI::App* cmd, AnalysisFlags& flags);

// The options the flags ask for; throws InvalidInputError naming the choices for a bad value.
AnalysisOptions analysis_options(const AnalysisFlags& flags);

// Whether the options ask for anything beyond a plain prediction (explain, sentences or chunks); when
// not, the commands keep their plain output exactly.
bool wants_analysis(const AnalysisOptions& options);

}  // namespace senti::cli
