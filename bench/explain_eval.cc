// senti_explain_eval: is senti's word explanation faithful, and what does it cost?
//
// Faithfulness (deletion test): for each text, delete its top-k attributed words (k = 1, 3) from the
// text and re-classify; compare the drop of the predicted label's score with deleting k random words of
// the same text (the mean over --random-draws draws). An explanation is faithful when the top words'
// drop is larger in most texts. Run for several explanation windows (0 = exact leave-one-word-out on the
// whole text), on the first --texts texts of a JSONL file with a "text" field.
//
// Cost: median time of explain vs a plain predict of one text, for texts of about 20, 100 and 200
// characters (batch 1, --cost-reps repetitions each).
//
//   build/bench/senti_explain_eval --model models/senti-zh-sentiment --input data/sentiment/test.jsonl
//       --texts 1000 --windows 0,16,24,32 [--threads 2] [--precision auto] [--cost-only] [--markdown out.md]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "senti/analysis.h"
#include "senti/classifier.h"
#include "senti/host_info.h"

namespace {

using senti::AnalysisOptions;
using senti::Classifier;

struct Args {
  std::string model = "models/senti-zh-sentiment";
  std::string input = "data/sentiment/test.jsonl";
  std::size_t texts = 1000;
  std::vector<std::size_t> windows{0, 16, 24, 32};
  int threads = 0;
  std::string precision = "auto";
  int random_draws = 5;
  int cost_reps = 30;
  bool cost_only = false;
  bool faithfulness_only = false;
  std::string markdown;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(k + " needs a value");
      return argv[++i];
    };
    if (k == "--model") a.model = value();
    else if (k == "--input") a.input = value();
    else if (k == "--texts") a.texts = std::stoul(value());
    else if (k == "--threads") a.threads = std::stoi(value());
    else if (k == "--precision") a.precision = value();
    else if (k == "--random-draws") a.random_draws = std::stoi(value());
    else if (k == "--cost-reps") a.cost_reps = std::stoi(value());
    else if (k == "--cost-only") a.cost_only = true;
    else if (k == "--faithfulness-only") a.faithfulness_only = true;
    else if (k == "--markdown") a.markdown = value();
    else if (k == "--windows") {
      a.windows.clear();
      std::stringstream ss(value());
      for (std::string w; std::getline(ss, w, ',');) a.windows.push_back(std::stoul(w));
    } else {
      throw std::runtime_error("unknown argument " + k + " (see the comment at the top of bench/explain_eval.cc)");
    }
  }
  return a;
}

std::vector<std::string> read_texts(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line).at("text").get<std::string>());
  }
  return out;
}

// Byte offset of every code point, plus the size.
std::vector<std::size_t> cp_bytes(const std::string& s) {
  std::vector<std::size_t> b;
  for (std::size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) b.push_back(i);
  b.push_back(s.size());
  return b;
}

// The text without the given words (spans in code points).
std::string without(const std::string& text, std::vector<senti::WordWeight> words) {
  std::sort(words.begin(), words.end(), [](const auto& x, const auto& y) { return x.start < y.start; });
  const auto b = cp_bytes(text);
  std::string out;
  std::size_t from = 0;
  for (const auto& w : words) {
    out += text.substr(b[from], b[w.start] - b[from]);
    from = w.end;
  }
  out += text.substr(b[from]);
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

struct DeletionStats {
  std::size_t texts = 0, wins = 0, ties = 0;
  double top_drop = 0, random_drop = 0;
};

struct WindowResult {
  std::size_t window = 0;
  std::map<int, DeletionStats> by_k;
  double work_tokens_per_text = 0;
};

WindowResult faithfulness(Classifier& clf, const std::vector<std::string>& texts, std::size_t window, int draws) {
  WindowResult r;
  r.window = window;
  AnalysisOptions options;
  options.explain = true;
  options.explain_window = window;
  std::mt19937 rng(12345);
  std::size_t work = 0;
  for (const std::string& text : texts) {
    const senti::AnalysisPlan plan(clf, text, options);
    work += plan.work_tokens();
    const senti::Analysis a = plan.finish(clf.classify(plan.encodings()));
    const std::size_t label = a.prediction.label_id;
    const float base = a.prediction.scores[label];
    for (int k : {1, 3}) {
      if (a.explanation.size() <= static_cast<std::size_t>(k)) continue;
      std::vector<senti::WordWeight> ranked = a.explanation;
      std::stable_sort(ranked.begin(), ranked.end(), [](const auto& x, const auto& y) { return x.weight > y.weight; });
      std::vector<std::string> variants{without(text, {ranked.begin(), ranked.begin() + k})};
      for (int d = 0; d < draws; ++d) {
        std::vector<senti::WordWeight> pick = a.explanation;
        std::shuffle(pick.begin(), pick.end(), rng);
        variants.push_back(without(text, {pick.begin(), pick.begin() + k}));
      }
      // A deletion that leaves no tokens counts as score 0 for the label... it cannot happen here: k < words.
      const auto preds = clf.classify(variants);
      const double top = base - preds[0].scores[label];
      double rnd = 0;
      for (int d = 0; d < draws; ++d) rnd += base - preds[1 + d].scores[label];
      rnd /= draws;
      DeletionStats& s = r.by_k[k];
      ++s.texts;
      s.top_drop += top;
      s.random_drop += rnd;
      if (top > rnd + 1e-6) ++s.wins;
      else if (std::abs(top - rnd) <= 1e-6) ++s.ties;
    }
  }
  r.work_tokens_per_text = static_cast<double>(work) / static_cast<double>(texts.size());
  for (auto& [k, s] : r.by_k) {
    s.top_drop /= static_cast<double>(s.texts);
    s.random_drop /= static_cast<double>(s.texts);
  }
  return r;
}

struct CostRow {
  std::size_t target_chars = 0;
  std::size_t texts = 0;
  double chars = 0;
  double predict_ms = 0, explain_ms = 0;
};

CostRow cost(Classifier& clf, const std::vector<std::string>& all, std::size_t target, std::size_t window, int reps) {
  std::vector<std::string> picked;
  for (const auto& t : all) {
    const std::size_t n = cp_bytes(t).size() - 1;
    if (n * 10 >= target * 9 && n * 10 <= target * 11) picked.push_back(t);
    if (picked.size() == 10) break;
  }
  CostRow row{target, picked.size(), 0, 0, 0};
  if (picked.empty()) return row;
  AnalysisOptions options;
  options.explain = true;
  options.explain_window = window;
  std::vector<double> ratios, predict_all, explain_all;
  for (const auto& t : picked) {
    row.chars += static_cast<double>(cp_bytes(t).size() - 1);
    std::vector<double> p, e;
    for (int r = 0; r < reps + 3; ++r) {  // 3 untimed warm-ups
      const auto t0 = std::chrono::steady_clock::now();
      (void)clf.classify(std::vector<std::string>{t});
      const auto t1 = std::chrono::steady_clock::now();
      (void)senti::analyze(clf, {t}, options);
      const auto t2 = std::chrono::steady_clock::now();
      if (r < 3) continue;
      p.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      e.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    }
    predict_all.push_back(median(p));
    explain_all.push_back(median(e));
  }
  row.chars /= static_cast<double>(picked.size());
  row.predict_ms = median(predict_all);
  row.explain_ms = median(explain_all);
  return row;
}

}  // namespace

int main(int argc, char** argv) try {
  const Args args = parse(argc, argv);
  senti::ClassifierOptions co;
  co.num_threads = args.threads;
  co.precision = args.precision;
  Classifier clf = Classifier::load(args.model, co);
  std::vector<std::string> texts = read_texts(args.input);
  const std::vector<std::string> all = texts;
  if (texts.size() > args.texts) texts.resize(args.texts);

  std::ostringstream md;
  md << "# Explanation faithfulness and cost\n\n";
  md << "Model `" << args.model << "` (" << clf.backend_name() << ", precision " << clf.precision() << ", threads "
     << args.threads << "), host: " << senti::detect_host().cpu_model << ".\n\n";
  md << "Command: `build/bench/senti_explain_eval";
  for (int i = 1; i < argc; ++i) md << " " << argv[i];
  md << "`\n\n";

  if (!args.cost_only) {
    md << "## Deletion test on the first " << texts.size() << " texts of `" << args.input << "`\n\n";
    md << "Delete the top-k attributed words vs k random words (mean of " << args.random_draws
       << " draws) and re-classify; drop = fall of the predicted label's score. Window 0 = exact leave-one-word-out "
          "on the whole text.\n\n";
    md << "| window (tokens) | model work per text (tokens) | k | texts | top-k drop > random drop | ties | mean top-k drop | mean random drop |\n";
    md << "|---|---|---|---|---|---|---|---|\n";
    for (std::size_t w : args.windows) {
      const auto t0 = std::chrono::steady_clock::now();
      const WindowResult r = faithfulness(clf, texts, w, args.random_draws);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      for (const auto& [k, st] : r.by_k) {
        char line[512];
        std::snprintf(line, sizeof line, "| %zu | %.0f | %d | %zu | %.1f%% (%zu) | %zu | %.4f | %.4f |\n", w,
                      r.work_tokens_per_text, k, st.texts, 100.0 * static_cast<double>(st.wins) / static_cast<double>(st.texts),
                      st.wins, st.ties, st.top_drop, st.random_drop);
        md << line;
        std::cout << line << std::flush;
      }
      std::cerr << "window " << w << ": " << s << " s\n";
    }
    md << "\n";
  }
  if (!args.faithfulness_only) {
    md << "## Cost: explain vs predict, one text (batch 1), medians over 10 texts x " << args.cost_reps << " runs\n\n";
    md << "| text length (chars) | window | predict ms | explain ms | explain / predict |\n|---|---|---|---|---|\n";
    for (std::size_t w : args.windows) {
      for (std::size_t target : {20, 100, 200}) {
        const CostRow row = cost(clf, all, target, w, args.cost_reps);
        char line[256];
        std::snprintf(line, sizeof line, "| %.0f | %zu | %.2f | %.2f | %.1fx |\n", row.chars, w, row.predict_ms,
                      row.explain_ms, row.predict_ms > 0 ? row.explain_ms / row.predict_ms : 0.0);
        md << line;
        std::cout << line << std::flush;
      }
    }
  }
  if (!args.markdown.empty()) {
    std::ofstream out(args.markdown);
    out << md.str();
  }
  std::cout << "\n" << md.str();
  return 0;
} catch (const std::exception& e) {
  std::cerr << "senti_explain_eval: " << e.what() << "\n";
  return 1;
}
