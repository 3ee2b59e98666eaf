// precision "auto" on the CPU, chosen by measurement: every precision the host runs is built from the
// checkpoint, timed at batch 1 on calibration texts and compared with fp32 on them; the fastest one whose
// scores stay within the tolerance of fp32's wins. The choice (and why) is cached per model file, host
// and thread count, so later loads build one backend only and always make the same choice.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/backend.h"
#include "senti/tokenizer.h"

namespace senti {

struct PrecisionChoice {
  std::unique_ptr<Backend> backend;
  std::string precision;  // what it runs: "fp32", "bf16" or "int8"
  std::string reason;     // one line for people (senti info --model, the serve start line)
  bool from_cache = false;
};

struct AutoPrecisionSettings {
  // Largest |score difference| to fp32's on any calibration text (softmax probabilities) a precision may
  // show and still count as accurate. SENTI_AUTO_PRECISION_TOLERANCE overrides it.
  double tolerance = 0.02;
  // A lower precision is taken only when it is at least this much faster than the more precise choice
  // (noise on a shared machine must not flip the choice).
  double min_speedup = 1.10;
  // Where the choice is cached: SENTI_CACHE_DIR, else $XDG_CACHE_HOME/senti, else ~/.cache/senti; empty:
  // no cache. SENTI_AUTO_PRECISION=measure ignores a cached choice (and replaces it).
  std::filesystem::path cache_dir;
  bool use_cache = true;
  // false with SENTI_AUTO_PRECISION=rule: "auto" picks by the CPU's features alone (resolve_auto_precision),
  // nothing is measured. Read by the callers (Classifier::load, compile_model).
  bool measure = true;
};

// The settings from the environment (see AutoPrecisionSettings).
AutoPrecisionSettings auto_precision_settings_from_env();

// The calibration texts: short and long reviews, positive, negative, mixed, with English and digits.
const std::vector<std::string>& calibration_texts();

// Builds the chosen CPU backend for `checkpoint`. `options.precision` is ignored ("auto" is what this
// resolves). Throws what make_cpu_backend throws.
PrecisionChoice choose_cpu_precision(const Checkpoint& checkpoint, const BertTokenizer& tokenizer,
                                     std::size_t max_length, const BackendOptions& options,
                                     const AutoPrecisionSettings& settings);

}  // namespace senti
