#include "cli/analysis_flags.h"

namespace senti::cli {

void add_analysis_flags(CLI::App* cmd, AnalysisFlags& flags) {
  cmd->add_flag("--explain", flags.explain,
                "Weigh every word: the drop of the predicted label's score when the word is left out");
  // Values are checked by parse_granularity/parse_long_text (one message for the CLI, HTTP and Python).
  cmd->add_option("--granularity", flags.granularity,
                  "text (default) or sentence: also classify each sentence on its own");
  cmd->add_option("--long-text", flags.long_text,
                  "truncate (default: the model's first max-length tokens) or chunk: a text longer than the "
                  "model's window is classified in overlapping windows, its scores the mean of theirs");
}

AnalysisOptions analysis_options(const AnalysisFlags& flags) {
  AnalysisOptions options;
  options.explain = flags.explain;
  options.granularity = parse_granularity(flags.granularity);
  options.long_text = parse_long_text(flags.long_text);
  return options;
}

bool wants_analysis(const AnalysisOptions& options) {
  return options.explain || options.granularity == Granularity::sentence || options.long_text == LongText::chunk;
}

}  // namespace senti::cli
