// Shared by the checkpoint and .senti fuzzers: load a model the way every senti command does
// (Classifier::load), run it once, and accept only senti's own errors.
#pragma once

#include <exception>
#include <filesystem>
#include <string>
#include <typeinfo>
#include <vector>

#include "fuzz_support.h"
#include "senti/classifier.h"
#include "senti/error.h"

namespace senti::fuzz {

// Loads and, when that works, classifies one text. A senti::Error (ModelError, InvalidInputError) is
// the expected answer to a bad file; any other exception means an unclear message or a bug.
inline void load_and_run(const std::filesystem::path& model) {
  try {
    ClassifierOptions options;
    options.num_threads = 1;
    Classifier classifier = Classifier::load(model, options);
    const std::vector<Prediction> predictions = classifier.classify(std::vector<std::string>{"很好"});
    if (predictions.size() != 1 || predictions[0].scores.size() != classifier.config().num_labels())
      fail("a loaded model gave a malformed prediction");
  } catch (const senti::Error&) {
  } catch (const std::exception& e) {
    fail(std::string("a bad model file raised ") + typeid(e).name() + " instead of a senti error: " + e.what());
  }
}

}  // namespace senti::fuzz
