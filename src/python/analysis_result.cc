#include "analysis_result.h"

#include <string>

namespace nb = nanobind;

namespace senti::python {
namespace {

nb::str py_str(const std::string& s) { return nb::str(s.data(), s.size()); }

}  // namespace

nb::dict analysis_result(const Analysis& a, const AnalysisOptions& options, const std::vector<nb::str>& names) {
  nb::dict scores;
  for (std::size_t j = 0; j < a.prediction.scores.size(); ++j) scores[names[j]] = static_cast<double>(a.prediction.scores[j]);
  nb::dict d;
  d["label"] = names[a.prediction.label_id];
  d["score"] = static_cast<double>(a.prediction.score);
  d["scores"] = scores;
  if (options.explain) {
    nb::list words;
    for (const WordWeight& w : a.explanation) {
      nb::dict word;
      word["text"] = py_str(w.text);
      word["start"] = w.start;
      word["end"] = w.end;
      word["weight"] = static_cast<double>(w.weight);
      words.append(word);
    }
    d["explanation"] = words;
  }
  if (options.granularity == Granularity::sentence) {
    nb::list sentences;
    for (const SentenceResult& s : a.sentences) {
      nb::dict sentence;
      sentence["text"] = py_str(s.text);
      sentence["start"] = s.start;
      sentence["end"] = s.end;
      sentence["label"] = names[s.prediction.label_id];
      sentence["score"] = static_cast<double>(s.prediction.score);
      sentences.append(sentence);
    }
    d["sentences"] = sentences;
  }
  if (options.long_text == LongText::chunk) d["chunks"] = a.chunks;
  return d;
}

}  // namespace senti::python
