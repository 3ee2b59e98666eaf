// An Analysis (senti/analysis.h) as the Python dict senti.Classifier returns: the prediction's
// "label", "score", "scores", then what the options asked for, in the HTTP API's vocabulary:
// "explanation" [{"text", "start", "end", "weight"}], "sentences" [{"text", "start", "end", "label",
// "score"}], "chunks". Spans are code points, so text[start:end] in Python is the piece.
#pragma once

#include <nanobind/nanobind.h>

#include <vector>

#include "senti/analysis.h"

namespace senti::python {

// names[i]: label i as a Python str. Needs the GIL.
nanobind::dict analysis_result(const Analysis& analysis, const AnalysisOptions& options,
                               const std::vector<nanobind::str>& names);

}  // namespace senti::python
