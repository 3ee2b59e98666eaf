#include "senti/classifier.h"

#include <algorithm>
#include <optional>
#include <string>

#include "model/compiled_file.h"
#include "model/compiled_model.h"
#include "runtime/auto_precision.h"
#include "runtime/backend.h"
#include "runtime/cpu/softmax.h"
#include "senti/checkpoint.h"
#include "senti/error.h"

namespace senti {
namespace {

}  // namespace

struct Classifier::State {
  std::optional<Checkpoint> checkpoint;  // folder models; compiled files live in the backend
  BertConfig config;
  BertTokenizer tokenizer;
  std::unique_ptr<Backend> backend;
  std::string device = "cpu";
  std::string precision_choice;
};

Classifier::Classifier() = default;
Classifier::Classifier(Classifier&&) noexcept = default;
Classifier& Classifier::operator=(Classifier&&) noexcept = default;
Classifier::~Classifier() = default;

namespace {

std::size_t resolve_max_length(const ClassifierOptions& options, const BertTokenizer& tokenizer,
                               const BertConfig& config) {
  // An explicit max_length the model cannot take is an error; the tokenizer's own default (often a huge
  // placeholder in tokenizer_config.json) is capped quietly.
  if (options.max_length > config.max_position_embeddings)
    throw InvalidInputError("max_length " + std::to_string(options.max_length) +
                            " is over the model's maximum input length (max_position_embeddings " +
                            std::to_string(config.max_position_embeddings) + "); use at most that");
  const std::size_t max_length = std::min(options.max_length ? options.max_length : tokenizer.options().model_max_length,
                                          config.max_position_embeddings);
  if (max_length < 2) throw InvalidInputError("max_length must be at least 2 ([CLS] and [SEP])");
  return max_length;
}

void check_vocab(const BertTokenizer& tokenizer, const BertConfig& config, const std::string& origin) {
  if (tokenizer.vocab().size() > config.vocab_size) {
    throw ModelError(origin + ": vocab has " + std::to_string(tokenizer.vocab().size()) +
                     " tokens but config.json says vocab_size " + std::to_string(config.vocab_size));
  }
}

}  // namespace

Classifier Classifier::load(const std::filesystem::path& model_path, const ClassifierOptions& options) {
  BackendOptions backend_options;
  backend_options.num_threads = options.num_threads;
  backend_options.precision = options.precision;
  Classifier classifier;
  const bool compiled_file = model::is_compiled_model_file(model_path);
  std::string device = resolve_device(options.device, options.precision);
  if (compiled_file && device == "cuda") {
    if (options.device == "cuda")
      throw ModelError(model_path.string() + " is compiled for the CPU (senti compile); the CUDA backend loads "
                       "checkpoint folders: pass the folder, or --device cpu");
    device = "cpu";  // auto: a compiled file runs where it was compiled for
  }
  if (compiled_file) {
    auto file = model::CompiledFile::open(model_path);
    const std::string origin = model_path.string();
    BertConfig config;
    try {
      config = BertConfig::from_json_string(file->metadata().at("config").dump(), origin + " (config)");
    } catch (const nlohmann::json::exception& e) {
      throw ModelError(origin + ": compiled model has no config: " + e.what());
    }
    BertTokenizer tokenizer = model::tokenizer_from_json(file->metadata().value("tokenizer", nlohmann::json()), origin);
    check_vocab(tokenizer, config, origin);
    classifier.max_length_ = resolve_max_length(options, tokenizer, config);
    auto backend = make_cpu_backend(std::move(file), config, backend_options);
    const std::string why = "compiled for " + backend->precision() + " (senti compile --precision)";
    classifier.state_ = std::unique_ptr<State>(
        new State{std::nullopt, std::move(config), std::move(tokenizer), std::move(backend), "cpu", why});
    return classifier;
  }
  Checkpoint checkpoint = Checkpoint::load(model_path);
  const BertConfig config = checkpoint.config();
  BertTokenizer tokenizer = BertTokenizer::from_folder(model_path, config.max_position_embeddings);
  check_vocab(tokenizer, config, model_path.string() + "/vocab.txt");
  classifier.max_length_ = resolve_max_length(options, tokenizer, config);
  if (device == "cuda") {
    // The weights live on the GPU once uploaded: the checkpoint's mapping is not kept.
    auto backend = make_cuda_backend(checkpoint, backend_options);
    const std::string why = options.precision == "auto" ? "auto on CUDA is fp16" : "asked for " + options.precision;
    classifier.state_ = std::unique_ptr<State>(
        new State{std::nullopt, config, std::move(tokenizer), std::move(backend), "cuda", why});
    return classifier;
  }
  classifier.state_ =
      std::unique_ptr<State>(new State{std::move(checkpoint), config, std::move(tokenizer), nullptr, "cpu", ""});
  State& state = *classifier.state_;
  const AutoPrecisionSettings auto_settings = auto_precision_settings_from_env();
  if (options.precision == "auto" && auto_settings.measure) {
    PrecisionChoice choice = choose_cpu_precision(*state.checkpoint, state.tokenizer, classifier.max_length_,
                                                  backend_options, auto_settings);
    state.backend = std::move(choice.backend);
    state.precision_choice = std::move(choice.reason);
  } else {
    state.backend = make_cpu_backend(*state.checkpoint, backend_options);
    state.precision_choice = options.precision == "auto" ? "auto by the CPU's features (SENTI_AUTO_PRECISION=rule): " +
                                                               state.backend->precision()
                                                         : "asked for " + options.precision;
  }
  // Packing read every weight once; the backend has its own copies of the matmul weights (most of
  // the file), so those pages need not stay resident (rbt3 fp32 checkpoint: ~150 MB of RSS).
  state.checkpoint->drop_resident_pages();
  return classifier;
}

const BertConfig& Classifier::config() const { return state_->config; }
const BertTokenizer& Classifier::tokenizer() const { return state_->tokenizer; }
std::string Classifier::backend_name() const { return state_->backend->name(); }
std::string Classifier::device() const { return state_->device; }
std::string Classifier::precision() const { return state_->backend->precision(); }
std::string Classifier::precision_choice() const { return state_->precision_choice; }

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
  // Bigger inputs are split at sequence boundaries so memory stays bounded whatever the caller passes.
  const std::size_t max_tokens = state_->backend->max_tokens_per_forward();
  std::size_t next = 0;
  while (next < encodings.size()) {
    PackedBatch batch;
    const std::size_t first = next;
    while (next < encodings.size() &&
           (next == first || batch.num_tokens() + encodings[next].input_ids.size() <= max_tokens)) {
      const Encoding& e = encodings[next++];
      batch.append(e.input_ids, e.token_type_ids);
    }
    logits.assign(batch.num_sequences() * labels, 0.f);
    state_->backend->forward(batch, logits.data());

    for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
      Prediction& p = predictions[first + s];
      p.logits.assign(logits.begin() + static_cast<std::ptrdiff_t>(s * labels),
                      logits.begin() + static_cast<std::ptrdiff_t>((s + 1) * labels));
      // Scores are calibrated: softmax(logits / T) with the config's temperature; logits stay raw.
      p.scores.resize(labels);
      std::vector<float> scaled(p.logits);
      for (float& v : scaled) v /= config.score_temperature;
      cpu::softmax(scaled.data(), labels, p.scores.data());
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
