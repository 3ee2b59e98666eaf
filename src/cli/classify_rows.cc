#include "cli/classify_rows.h"

#include <cstdio>

#include "cli/analysis_flags.h"
#include "cli/analysis_json.h"

namespace senti::cli {
namespace {

std::string row_score(float score) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", static_cast<double>(score));
  return buf;
}

// label, display_label (when it differs), score: the prediction fields of every JSONL row.
void add_prediction(nlohmann::ordered_json& j, const Prediction& p) {
  j["label"] = p.label;
  if (p.display_label != p.label) j["display_label"] = p.display_label;
  j["score"] = p.score;
}

// CSV: label,display_label,score,
std::string prediction_columns(const Prediction& p) {
  return csv_field(p.label) + "," + csv_field(p.display_label) + "," + row_score(p.score) + ",";
}

}  // namespace

RowFormat::RowFormat(bool csv, const AnalysisOptions& options)
    : csv_(csv),
      analysis_(wants_analysis(options)),
      options_(options) {}

std::string RowFormat::csv_header() const {
  std::string header = by_sentence() ? "id,sentence,start,end,text,label,display_label,score,error"
                                     : "id,text,label,display_label,score,error";
  if (options_.explain) header += by_sentence() ? ",explanation_label,explanation" : ",explanation";
  if (options_.long_text == LongText::chunk) header += ",chunks";
  return header + "\n";
}

std::string RowFormat::prediction_row(const InputRecord& r, const Prediction& p) const {
  if (csv_) return csv_field(id_text(r.id)) + "," + csv_field(r.text) + "," + prediction_columns(p) + "\n";
  nlohmann::ordered_json j = {{"id", r.id}, {"text", r.text}};  // rows read id, text, label... in that order
  add_prediction(j, p);
  return json_line(j) + "\n";
}

std::string RowFormat::error_row(const InputRecord& r, const std::string& error) const {
  if (csv_) {
    std::string row = csv_field(id_text(r.id)) + "," + (by_sentence() ? ",,," : "") + csv_field(r.text) + ",,,," +
                      csv_field(error);
    if (options_.explain) row += by_sentence() ? ",," : ",";
    if (options_.long_text == LongText::chunk) row += ",";
    return row + "\n";
  }
  return json_line({{"id", r.id}, {"text", r.text}, {"error", error}}) + "\n";
}

std::string RowFormat::analysis_columns(const nlohmann::ordered_json& explanation, std::size_t chunks) const {
  std::string columns;
  if (options_.explain) columns += "," + csv_field(json_line(explanation));
  if (options_.long_text == LongText::chunk) columns += "," + std::to_string(chunks);
  return columns;
}

std::string RowFormat::analysis_rows(const InputRecord& r, const Analysis& a) const {
  if (!analysis_) return prediction_row(r, a.prediction);
  if (!by_sentence()) {
    const nlohmann::ordered_json explanation = explanation_json(a.explanation);
    if (csv_)
      return csv_field(id_text(r.id)) + "," + csv_field(r.text) + "," + prediction_columns(a.prediction) +
             analysis_columns(explanation, a.chunks) + "\n";
    nlohmann::ordered_json j = {{"id", r.id}, {"text", r.text}};
    add_prediction(j, a.prediction);
    const nlohmann::ordered_json fields = analysis_json(a, options_);
    for (const auto& [key, value] : fields.items()) j[key] = value;
    return json_line(j) + "\n";
  }
  if (a.sentences.empty()) return error_row(r, "no sentence to classify");
  std::string rows;
  for (std::size_t i = 0; i < a.sentences.size(); ++i) {
    const SentenceResult& s = a.sentences[i];
    std::vector<WordWeight> words;  // the explanation's words inside this sentence
    for (const WordWeight& w : a.explanation)
      if (w.start >= s.start && w.end <= s.end) words.push_back(w);
    const nlohmann::ordered_json explanation = explanation_json(words);
    if (csv_) {
      rows += csv_field(id_text(r.id)) + "," + std::to_string(i) + "," + std::to_string(s.start) + "," +
              std::to_string(s.end) + "," + csv_field(s.text) + "," + prediction_columns(s.prediction) +
              (options_.explain ? "," + csv_field(a.prediction.label) : "") + analysis_columns(explanation, s.chunks) +
              "\n";
      continue;
    }
    nlohmann::ordered_json j = {{"id", r.id}, {"sentence", i}, {"start", s.start}, {"end", s.end}, {"text", s.text}};
    add_prediction(j, s.prediction);
    if (options_.explain) {
      j["explanation_label"] = a.prediction.label;
      j["explanation"] = explanation;
    }
    if (options_.long_text == LongText::chunk) j["chunks"] = s.chunks;
    rows += json_line(j) + "\n";
  }
  return rows;
}

bool RowFormat::matches(const OutputScan& scan) const {
  if (csv_) {
    std::vector<std::string> expected;
    std::string header = csv_header();
    header.pop_back();
    parse_csv_record(header, expected);
    return !scan.has_header || scan.header == expected;
  }
  const nlohmann::json& row = scan.last_row;
  if (!row.is_object() || !row.contains("label")) return true;  // an error row: the same in every format
  return row.contains("sentence") == by_sentence() && row.contains("explanation") == options_.explain &&
         row.contains("chunks") == (options_.long_text == LongText::chunk);
}

}  // namespace senti::cli
