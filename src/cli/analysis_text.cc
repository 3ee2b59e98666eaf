#include "cli/analysis_text.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace senti::cli {
namespace {

constexpr const char* kRed = "\x1b[31m";
constexpr const char* kGreen = "\x1b[32m";
constexpr const char* kBold = "\x1b[1m";
constexpr const char* kReset = "\x1b[0m";

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// +1 for a label that names a positive sense, -1 for a negative one, 0 when its name says neither.
int label_sense(const Prediction& p) {
  for (const std::string& name : {lower_ascii(p.label), p.display_label}) {
    for (const char* neg : {"negative", "neg", "负面", "消极", "差评"})
      if (name == neg) return -1;
    for (const char* pos : {"positive", "pos", "正面", "积极", "好评"})
      if (name == pos) return 1;
  }
  return 0;
}

std::string printf_number(double value, const char* format) {
  char buf[32];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

std::string words_line(const Analysis& a, bool colour) {
  // Toward a positive label is green: weight > 0 supports the predicted label, whose sense flips it.
  const int sense = label_sense(a.prediction) == 0 ? 1 : label_sense(a.prediction);
  std::string line = "  words   ";
  for (const WordWeight& w : a.explanation) {
    const std::string weight = printf_number(static_cast<double>(w.weight), "%+.2f");
    const bool shown = weight != "+0.00" && weight != "-0.00";
    line += ' ';
    if (colour && shown) {
      line += (w.weight * static_cast<float>(sense) > 0) ? kGreen : kRed;
      if (std::fabs(w.weight) >= 0.1f) line += kBold;
    }
    line += w.text;
    if (shown) line += "(" + weight + ")";
    if (colour && shown) line += kReset;
  }
  return line + "\n";
}

}  // namespace

bool stdout_wants_colour() {
  const char* no_colour = std::getenv("NO_COLOR");
  return isatty(STDOUT_FILENO) == 1 && (no_colour == nullptr || *no_colour == '\0');
}

std::string human_prediction(const std::string& text, const Prediction& p) {
  std::string line = p.label + " " + printf_number(static_cast<double>(p.score), "%.4f");
  if (p.display_label != p.label) line += " " + p.display_label;
  return line + "  " + text + "\n";
}

std::string human_analysis(const std::string& text, const Analysis& a, const AnalysisOptions& options, bool colour) {
  std::string out = human_prediction(text, a.prediction);
  if (options.explain) out += words_line(a, colour);
  if (options.granularity == Granularity::sentence) {
    for (const SentenceResult& s : a.sentences) {
      out += "  sentence [" + std::to_string(s.start) + "," + std::to_string(s.end) + ") " + s.prediction.label +
             " " + printf_number(static_cast<double>(s.prediction.score), "%.4f") + "  " + s.text + "\n";
    }
  }
  if (options.long_text == LongText::chunk) out += "  chunks   " + std::to_string(a.chunks) + "\n";
  return out;
}

}  // namespace senti::cli
