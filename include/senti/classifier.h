// The text classifier users call: tokenizer + model + a compute backend behind one object.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "senti/model_config.h"
#include "senti/tokenizer.h"

namespace senti {

struct Prediction {
  std::size_t label_id = 0;
  std::string label;          // id2label
  std::string display_label;  // how people read it (e.g. 正面), defaults to label
  float score = 0.f;          // softmax probability of label_id
  std::vector<float> scores;  // softmax over all labels, by id
  std::vector<float> logits;  // raw classifier outputs, by id
  std::size_t num_tokens = 0; // tokens the model saw, [CLS]/[SEP] included
  bool truncated = false;
};

struct ClassifierOptions {
  std::size_t max_length = 0;  // 0: the tokenizer's model_max_length
  int num_threads = 0;         // 0: all cores
  // Compute precision: "fp32", "bf16", "int8", or "auto": on the CPU, the fastest one whose scores stay
  // within 0.02 of fp32's, measured at load on calibration texts and cached per model file and host
  // (runtime/auto_precision.h; SENTI_AUTO_PRECISION=rule picks by the CPU's features instead).
  // A compiled model file (senti compile) carries its own precision; "auto" accepts it.
  std::string precision = "auto";
  // "cpu", "cuda" or "auto" (CUDA when this build has it and a GPU is usable, else the CPU). The CUDA
  // backend runs fp32, fp16 or bf16 ("auto": fp16) and loads checkpoint folders only. "cuda" without
  // a usable GPU throws ModelError saying why.
  std::string device = "cpu";
};

class Backend;

class Classifier {
 public:
  // Loads a Hugging Face checkpoint folder, or a compiled model file (senti compile). Throws ModelError.
  static Classifier load(const std::filesystem::path& model_dir, const ClassifierOptions& options = {});

  // Classifies a batch. Sequences are packed without padding: each text's result does not depend on
  // the others in the batch. Throws InvalidInputError (e.g. invalid UTF-8). Not thread-safe: one
  // caller at a time (the service runs the model on a dedicated thread).
  std::vector<Prediction> classify(const std::vector<std::string>& texts);
  std::vector<Prediction> classify(const std::vector<Encoding>& encodings);

  const BertConfig& config() const;
  const BertTokenizer& tokenizer() const;
  std::string backend_name() const;
  // "cpu" or "cuda": where the model runs.
  std::string device() const;
  // The precision the encoder actually runs in ("fp32", "bf16" or "int8"; "auto" resolved).
  std::string precision() const;
  // Why it runs in that precision: what "auto" measured at load (or read from its cache), the compiled
  // file's precision, or the one asked for.
  std::string precision_choice() const;
  std::size_t max_length() const { return max_length_; }

  Classifier(Classifier&&) noexcept;
  Classifier& operator=(Classifier&&) noexcept;
  ~Classifier();

 private:
  Classifier();
  struct State;
  std::unique_ptr<State> state_;
  std::size_t max_length_ = 512;
};

}  // namespace senti
