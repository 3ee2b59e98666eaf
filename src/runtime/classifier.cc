#include "senti/classifier.h"

#include <algorithm>
#include <string>

#include "runtime/backend.h"
#include "runtime/cpu/softmax.h"
#include "senti/checkpoint.h"
#include "senti/error.h"

namespace senti {
namespace {

// Largest number of tokens run through the backend in one forward call; bigger inputs are split so
// memory stays bounded whatever the caller passes.
constexpr std::size_t kMaxTokensPerForward = 16384;

}  // namespace

struct Classifier::State {
  Checkpoint checkpoint;
  BertTokenizer tokenizer;
  std::unique_ptr<Backend> backend;
};

Classifier::Classifier() = default;
Classifier::Classifier(Classifier&&) noexcept = default;
Classifier& Classifier::operator=(Classifier&&) noexcept = default;
Classifier::~Classifier() = default;

Classifier Classifier::load(const std::filesystem::path& model_dir, const ClassifierOptions& options) {
  Checkpoint checkpoint = Checkpoint::load(model_dir);
  const BertConfig& config = checkpoint.config();
  BertTokenizer tokenizer = BertTokenizer::from_folder(model_dir, config.max_position_embeddings);
  if (tokenizer.vocab().size() > config.vocab_size) {
    throw ModelError(model_dir.string() + ": vocab.txt has " + std::to_string(tokenizer.vocab().size()) +
                     " tokens but config.json says vocab_size " + std::to_string(config.vocab_size));
  }
  Classifier classifier;
  classifier.max_length_ = std::min(options.max_length ? options.max_length : tokenizer.options().model_max_length,
                                    config.max_position_embeddings);
  if (classifier.max_length_ < 2) throw InvalidInputError("max_length must be at least 2 ([CLS] and [SEP])");
  BackendOptions backend_options;
  backend_options.num_threads = options.num_threads;
  backend_options.precision = options.precision;
  classifier.state_ = std::unique_ptr<State>(new State{std::move(checkpoint), std::move(tokenizer), nullptr});
  classifier.state_->backend = make_cpu_backend(classifier.state_->checkpoint, backend_options);
  return classifier;
}

const BertConfig& Classifier::config() const { return state_->checkpoint.config(); }
const BertTokenizer& Classifier::tokenizer() const { return state_->tokenizer; }
std::string Classifier::backend_name() const { return state_->backend->name(); }

std::vector<Prediction> Classifier::classify(const std::vector<std::string>& texts) {
  std::vector<Encoding> encodings;
  encodings.reserve(texts.size());
  for (const auto& text : texts) encodings.push_back(state_->tokenizer.encode(text, std::nullopt, max_length_));
  return classify(encodings);
}

std::vector<Prediction> Classifier::classify(const std::vector<Encoding>& encodings) {
  const BertConfig& config = this->config();
  const std::size_t labels = config.num_labels();
  for (std::size_t i = 0; i < encodings.size(); ++i) {
    const Encoding& e = encodings[i];
    if (e.input_ids.empty() || e.input_ids.size() > config.max_position_embeddings ||
        e.token_type_ids.size() != e.input_ids.size()) {
      throw InvalidInputError("input " + std::to_string(i) + " has " + std::to_string(e.input_ids.size()) +
                              " tokens; expected 1.." + std::to_string(config.max_position_embeddings) +
                              " with as many token_type_ids");
    }
    for (std::size_t t = 0; t < e.input_ids.size(); ++t) {
      if (e.input_ids[t] < 0 || static_cast<std::size_t>(e.input_ids[t]) >= config.vocab_size ||
          e.token_type_ids[t] < 0 || static_cast<std::size_t>(e.token_type_ids[t]) >= config.type_vocab_size) {
        throw InvalidInputError("input " + std::to_string(i) + " token " + std::to_string(t) + " is out of range");
      }
    }
  }

  std::vector<Prediction> predictions(encodings.size());
  std::vector<float> logits;
  std::size_t next = 0;
  while (next < encodings.size()) {
    PackedBatch batch;
    const std::size_t first = next;
    while (next < encodings.size() &&
           (next == first || batch.num_tokens() + encodings[next].input_ids.size() <= kMaxTokensPerForward)) {
      const Encoding& e = encodings[next++];
      batch.input_ids.insert(batch.input_ids.end(), e.input_ids.begin(), e.input_ids.end());
      batch.token_type_ids.insert(batch.token_type_ids.end(), e.token_type_ids.begin(), e.token_type_ids.end());
      batch.offsets.push_back(batch.input_ids.size());
    }
    logits.assign(batch.num_sequences() * labels, 0.f);
    state_->backend->forward(batch, logits.data());

    for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
      Prediction& p = predictions[first + s];
      p.logits.assign(logits.begin() + static_cast<std::ptrdiff_t>(s * labels),
                      logits.begin() + static_cast<std::ptrdiff_t>((s + 1) * labels));
      p.scores.resize(labels);
      cpu::softmax(p.logits.data(), labels, p.scores.data());
      p.label_id = static_cast<std::size_t>(std::max_element(p.scores.begin(), p.scores.end()) - p.scores.begin());
      p.label = config.labels[p.label_id];
      p.display_label = config.label_display.empty() ? p.label : config.label_display[p.label_id];
      p.score = p.scores[p.label_id];
      p.num_tokens = batch.length(s);
      p.truncated = encodings[first + s].truncated;
    }
  }
  return predictions;
}

}  // namespace senti
