// senti predict --human: a prediction, and what analysis asked for, as lines for people to read
// (--explain --granularity sentence --long-text chunk, the default model):
//   positive 0.8225 正面  这件衣服的质量真的太棒了
//     words    这(+0.38) 件(+0.53) 衣(+0.39) 服(+0.38) 的(+0.48) 质(+0.51) 量(+0.23) 真(+0.30) 的(+0.35) 太(-0.10) 棒(+0.77) 了(-0.09)
//     sentence [0,12) positive 0.8225  这件衣服的质量真的太棒了
//     chunks   1
// Word weights that round to 0.00 are left out. With colour, a word pushing toward a negative label is
// red and one pushing toward a positive label green (a label's sense read from its name: positive,
// 正面...; for other labels, green supports the predicted label and red argues against it); bold from 0.1.
#pragma once

#include <string>

#include "senti/analysis.h"
#include "senti/classifier.h"

namespace senti::cli {

// Whether human output may use colour: stdout is a terminal and NO_COLOR is unset or empty.
bool stdout_wants_colour();

// The first line: label, score, display label (when it differs) and the text.
std::string human_prediction(const std::string& text, const Prediction& prediction);

// That line, then the lines the options asked for (words, one per sentence, chunks).
std::string human_analysis(const std::string& text, const Analysis& analysis, const AnalysisOptions& options,
                           bool colour);

}  // namespace senti::cli
