// senti predict --human: a prediction, and what analysis asked for, as lines for people to read.
//   positive 0.9731 正面  这件衣服的质量真的太棒了
//     words     这 件 衣 服 的 质(+0.02) 量 真 的 太(+0.05) 棒(+0.41) 了
//     sentence  [0,12) positive 0.9731  这件衣服的质量真的太棒了
//     chunks    1
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
