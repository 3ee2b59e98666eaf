// The rows senti classify writes, in JSONL or CSV.
// Plain (no analysis flag), one row per input record, unchanged since the first release:
//   {"id", "text", "label", "display_label"?, "score"}   CSV: id,text,label,display_label,score,error
// --explain / --long-text chunk add "explanation" (CSV: a JSON string) and "chunks" (CSV: columns after error).
// --granularity sentence: one row per sentence (each classified alone), carrying its record's id:
//   {"id", "sentence", "start", "end", "text", "label", "display_label"?, "score",
//    "explanation_label"?, "explanation"?, "chunks"?}
//   CSV: id,sentence,start,end,text,label,display_label,score,error[,explanation_label,explanation][,chunks]
// start/end are code points of the record's text. A sentence row's explanation holds the words of that
// sentence from the whole text's explanation (predict --explain's): their weights are toward the whole
// text's predicted label, explanation_label, which may differ from the sentence's own label.
// A record that cannot be classified is one row {"id", "text", "error"}.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "cli/record_io.h"
#include "senti/analysis.h"
#include "senti/classifier.h"

namespace senti::cli {

class RowFormat {
 public:
  RowFormat(bool csv, const AnalysisOptions& options);

  bool csv() const { return csv_; }
  // One row per sentence: a record's rows form a group in the output (see scan_output's group key).
  bool by_sentence() const { return options_.granularity == Granularity::sentence; }
  // The key/column whose 0 starts a record's rows ("" when every record is one row).
  std::string group_key() const { return by_sentence() ? "sentence" : ""; }

  std::string csv_header() const;  // with its line end
  std::string prediction_row(const InputRecord& r, const Prediction& p) const;
  std::string error_row(const InputRecord& r, const std::string& error) const;
  std::string analysis_rows(const InputRecord& r, const Analysis& a) const;
  // Whether what an earlier run wrote has this format's columns (resuming with other flags is refused).
  bool matches(const OutputScan& scan) const;

 private:
  std::string analysis_columns(const nlohmann::ordered_json& explanation, std::size_t chunks) const;

  bool csv_;
  bool analysis_;
  AnalysisOptions options_;
};

}  // namespace senti::cli
