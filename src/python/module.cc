// senti._core: the Python extension (nanobind) over senti's public C++ API (include/senti/). The
// Python package python/senti wraps it (argument defaults, the default model, one text vs a list);
// this file converts texts and results and releases the GIL while the tokenizer and the model run.
#include <Python.h>
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "analysis_result.h"
#include "senti/analysis.h"
#include "senti/classifier.h"
#include "senti/error.h"
#include "senti/tokenizer.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace senti::python {
namespace {

using LogitsArray = nb::ndarray<nb::numpy, float, nb::ndim<2>, nb::c_contig>;

// What classify and analyze return: one dict per text and the [n, labels] logits (a NumPy array that
// owns its buffer), filled batch by batch.
struct Results {
  Results(const std::vector<std::string>& labels, std::size_t n)
      : rows(n), width(labels.size()), logits(new float[std::max<std::size_t>(n * width, 1)]),
        owner(logits, [](void* p) noexcept { delete[] static_cast<float*>(p); }) {
    for (const std::string& label : labels) names.emplace_back(label.c_str(), label.size());
  }
  void set_logits(std::size_t row, const std::vector<float>& values) {
    std::copy(values.begin(), values.end(), logits + row * width);
  }
  std::pair<nb::list, LogitsArray> finish() { return {results, LogitsArray(logits, {rows, width}, owner)}; }

  std::size_t rows, width;
  float* logits;
  nb::capsule owner;
  std::vector<nb::str> names;
  nb::list results;
};

// One input of a batch: a text, or a text and its pair (sentence-pair models).
struct Input {
  std::string text;
  std::optional<std::string> pair;
};

// The UTF-8 bytes of a str (or the raw bytes of a bytes object, which the tokenizer validates).
std::string utf8_of(nb::handle item, std::size_t index) {
  if (PyUnicode_Check(item.ptr())) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(item.ptr(), &size);
    if (data == nullptr) {  // lone surrogates: not encodable as UTF-8
      PyErr_Clear();
      throw InvalidInputError("text " + std::to_string(index) + " is not valid Unicode (it holds a lone surrogate)");
    }
    return std::string(data, static_cast<std::size_t>(size));
  }
  if (PyBytes_Check(item.ptr())) {
    char* data = nullptr;
    Py_ssize_t size = 0;
    PyBytes_AsStringAndSize(item.ptr(), &data, &size);
    return std::string(data, static_cast<std::size_t>(size));
  }
  throw nb::type_error(("text " + std::to_string(index) + " must be str or bytes, not " +
                        nb::type_name(item.type()).c_str())
                           .c_str());
}

// str | bytes | (text, text_pair) | {"text": ..., "text_pair": ...} (the transformers pipeline form,
// any mapping).
Input input_of(nb::handle item, std::size_t index) {
  PyObject* object = item.ptr();
  if (PyTuple_Check(object) || PyList_Check(object)) {
    if (nb::len(item) != 2)
      throw nb::value_error(("text " + std::to_string(index) + ": a pair must have 2 elements").c_str());
    return {utf8_of(item[0], index), utf8_of(item[1], index)};
  }
  if (!PyUnicode_Check(object) && !PyBytes_Check(object) && PyMapping_Check(object)) {
    nb::object text = nb::steal(PyMapping_GetItemString(object, "text"));
    if (!text.is_valid()) {
      PyErr_Clear();
      throw nb::value_error(("text " + std::to_string(index) + ": a mapping input needs a 'text' key").c_str());
    }
    Input input{utf8_of(text, index), std::nullopt};
    nb::object pair = nb::steal(PyMapping_GetItemString(object, "text_pair"));
    if (!pair.is_valid()) PyErr_Clear();
    if (pair.is_valid() && !pair.is_none()) input.pair = utf8_of(pair, index);
    return input;
  }
  return {utf8_of(item, index), std::nullopt};
}

class Model {
 public:
  Model(const std::string& path, const std::string& precision, int threads, std::size_t max_length)
      : threads_(threads) {
    if (threads < 0) throw InvalidInputError("threads must be >= 0 (0: all cores)");
    ClassifierOptions options;
    options.precision = precision;
    options.num_threads = threads;
    options.max_length = max_length;
    nb::gil_scoped_release release;  // loading packs the weights: may take a while
    classifier_ = std::make_unique<Classifier>(Classifier::load(path, options));
  }

  // Classifies texts[0..n) in chunks of batch_size; returns one dict per text and the logits [n, labels].
  std::pair<nb::list, LogitsArray> classify(nb::sequence texts, std::size_t batch_size) {
    if (batch_size == 0) throw InvalidInputError("batch_size must be >= 1");
    const std::size_t n = nb::len(texts), labels = classifier_->config().num_labels();
    Results out(classifier_->config().labels, n);
    const std::vector<nb::str>& names = out.names;
    for (std::size_t first = 0; first < n; first += batch_size) {
      const std::size_t last = std::min(n, first + batch_size);
      std::vector<Input> inputs;
      inputs.reserve(last - first);
      for (std::size_t i = first; i < last; ++i) inputs.push_back(input_of(texts[i], i));
      std::vector<Prediction> predictions;
      {
        nb::gil_scoped_release release;
        predictions = run(inputs, first);
      }
      for (std::size_t k = 0; k < predictions.size(); ++k) {
        const Prediction& p = predictions[k];
        nb::dict scores;
        for (std::size_t j = 0; j < labels; ++j) scores[names[j]] = static_cast<double>(p.scores[j]);
        nb::dict d;
        d["label"] = names[p.label_id];
        d["score"] = static_cast<double>(p.score);
        d["scores"] = scores;
        out.results.append(d);
        out.set_logits(first + k, p.logits);
      }
    }
    return out.finish();
  }

  // Analyses texts[0..n) (explanation, sentences, chunks as asked) in chunks of batch_size texts; returns
  // one dict per text (analysis_result.h) and the logits [n, labels] (the mean of the windows when chunked).
  std::pair<nb::list, LogitsArray> analyze(nb::sequence texts, bool explain, const std::string& granularity,
                                           const std::string& long_text, std::size_t batch_size) {
    if (batch_size == 0) throw InvalidInputError("batch_size must be >= 1");
    AnalysisOptions options;
    options.explain = explain;
    options.granularity = parse_granularity(granularity);
    options.long_text = parse_long_text(long_text);
    const std::size_t n = nb::len(texts);
    Results out(classifier_->config().labels, n);
    const std::vector<nb::str>& names = out.names;
    for (std::size_t first = 0; first < n; first += batch_size) {
      const std::size_t last = std::min(n, first + batch_size);
      std::vector<std::string> inputs;
      inputs.reserve(last - first);
      for (std::size_t i = first; i < last; ++i) {
        Input input = input_of(texts[i], i);
        if (input.pair)
          throw InvalidInputError("text " + std::to_string(i) +
                                  ": explain, granularity and long_text take single texts, not (text, pair)");
        inputs.push_back(std::move(input.text));
      }
      std::vector<Analysis> analyses;
      {
        nb::gil_scoped_release release;
        analyses = run_analysis(inputs, options, first);
      }
      for (std::size_t k = 0; k < analyses.size(); ++k) {
        out.results.append(analysis_result(analyses[k], options, names));
        out.set_logits(first + k, analyses[k].prediction.logits);
      }
    }
    return out.finish();
  }

  // The model's encoding of one text: tokens and ids, [CLS]/[SEP] included. max_length: None for no
  // truncation, 0 for the model's maximum.
  nb::dict tokenize(nb::handle text, nb::handle pair, std::optional<std::size_t> max_length) const {
    Input input{utf8_of(text, 0), std::nullopt};
    if (!pair.is_none()) input.pair = utf8_of(pair, 0);
    const std::size_t limit = !max_length                ? std::numeric_limits<std::size_t>::max()
                              : *max_length == 0 ? classifier_->max_length()
                                                 : *max_length;
    Encoding encoding;
    {
      nb::gil_scoped_release release;
      encoding = encode(input, limit);
    }
    const Vocab& vocab = classifier_->tokenizer().vocab();
    nb::list tokens;
    for (const int32_t id : encoding.input_ids) tokens.append(nb::str(vocab.token(id).c_str()));
    nb::dict d;
    d["tokens"] = tokens;
    d["input_ids"] = nb::cast(encoding.input_ids);
    d["token_type_ids"] = nb::cast(encoding.token_type_ids);
    d["truncated"] = encoding.truncated;
    return d;
  }

  std::vector<std::string> labels() const { return classifier_->config().labels; }
  std::vector<std::string> display_labels() const {
    const BertConfig& c = classifier_->config();
    return c.label_display.empty() ? c.labels : c.label_display;
  }
  std::size_t max_length() const { return classifier_->max_length(); }
  std::string precision() const { return classifier_->precision(); }
  std::string backend() const { return classifier_->backend_name(); }
  int threads() const { return threads_; }
  nb::dict config() const {
    const BertConfig& c = classifier_->config();
    nb::dict d;
    d["vocab_size"] = c.vocab_size;
    d["hidden_size"] = c.hidden_size;
    d["num_hidden_layers"] = c.num_hidden_layers;
    d["num_attention_heads"] = c.num_attention_heads;
    d["intermediate_size"] = c.intermediate_size;
    d["max_position_embeddings"] = c.max_position_embeddings;
    d["num_labels"] = c.num_labels();
    return d;
  }

 private:
  // Called without the GIL. The tokenizer is read-only; the model is not thread-safe, so calls from
  // several Python threads take turns on it.
  Encoding encode(const Input& input, std::size_t max_length) const {
    return input.pair ? classifier_->tokenizer().encode(input.text, std::string_view(*input.pair), max_length)
                      : classifier_->tokenizer().encode(input.text, std::nullopt, max_length);
  }

  std::vector<Prediction> run(const std::vector<Input>& inputs, std::size_t first_index) {
    std::vector<Encoding> encodings;
    encodings.reserve(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      try {
        encodings.push_back(encode(inputs[i], classifier_->max_length()));
      } catch (const InvalidInputError& e) {
        throw InvalidInputError("text " + std::to_string(first_index + i) + ": " + e.what());
      }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    return classifier_->classify(encodings);
  }

  // Called without the GIL: plans every text (an error names its index), then runs all their sequences.
  std::vector<Analysis> run_analysis(const std::vector<std::string>& texts, const AnalysisOptions& options,
                                     std::size_t first_index) {
    std::vector<AnalysisPlan> plans;
    plans.reserve(texts.size());
    std::vector<Encoding> encodings;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      try {
        plans.emplace_back(*classifier_, texts[i], options);
      } catch (const InvalidInputError& e) {
        throw InvalidInputError("text " + std::to_string(first_index + i) + ": " + e.what());
      }
      encodings.insert(encodings.end(), plans.back().encodings().begin(), plans.back().encodings().end());
    }
    std::vector<Prediction> predictions;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      predictions = classifier_->classify(encodings);
    }
    std::vector<Analysis> analyses;
    analyses.reserve(plans.size());
    auto next = predictions.begin();
    for (const AnalysisPlan& plan : plans) {
      const auto k = static_cast<std::ptrdiff_t>(plan.encodings().size());
      analyses.push_back(plan.finish(std::vector<Prediction>(next, next + k)));
      next += k;
    }
    return analyses;
  }

  std::unique_ptr<Classifier> classifier_;
  std::mutex mutex_;
  int threads_ = 0;
};

}  // namespace
}  // namespace senti::python

NB_MODULE(_core, m) {
  using senti::python::Model;
  m.doc() = "senti's C++ classifier (nanobind). Use senti.Classifier, which wraps it.";

  // senti.InvalidInputError is a ValueError, senti.ModelError a RuntimeError; both carry the C++ message.
  nb::exception<senti::ModelError>(m, "ModelError", PyExc_RuntimeError);
  nb::exception<senti::InvalidInputError>(m, "InvalidInputError", PyExc_ValueError);

  nb::class_<Model>(m, "Model", "A loaded model: tokenizer + BERT classifier on the CPU.")
      .def(nb::init<const std::string&, const std::string&, int, std::size_t>(), "path"_a, "precision"_a = "auto",
           "threads"_a = 0, "max_length"_a = 0,
           "Loads a Hugging Face checkpoint folder or a compiled .senti file. Raises ModelError.")
      .def("classify", &Model::classify, "texts"_a, "batch_size"_a = 256,
           nb::sig("def classify(self, texts: collections.abc.Sequence[str | bytes | tuple[str | bytes, str | bytes] | "
                   "collections.abc.Mapping[str, str | bytes]], batch_size: int = 256) -> "
                   "tuple[list[dict[str, typing.Any]], numpy.typing.NDArray[numpy.float32]]"),
           "Classifies a sequence of texts (str, bytes, (text, pair) or {'text', 'text_pair'}) in chunks of "
           "batch_size, without the GIL. Returns (list of {'label', 'score', 'scores'}, float32 logits [n, labels]).")
      .def("analyze", &Model::analyze, "texts"_a, "explain"_a = false, "granularity"_a = "text",
           "long_text"_a = "truncate", "batch_size"_a = 256,
           nb::sig("def analyze(self, texts: collections.abc.Sequence[str | bytes | tuple[str | bytes, str | bytes] | "
                   "collections.abc.Mapping[str, str | bytes]], "
                   "explain: bool = False, granularity: str = 'text', long_text: str = 'truncate', batch_size: int = 256) -> "
                   "tuple[list[dict[str, typing.Any]], numpy.typing.NDArray[numpy.float32]]"),
           "Classifies texts as classify() does, adding what senti/analysis.h computes: 'explanation' (explain), "
           "'sentences' (granularity='sentence'), 'chunks' (long_text='chunk'); spans in code points. Raises "
           "InvalidInputError for an unknown granularity/long_text, a bad or empty text (naming its index) or a pair.")
      .def("tokenize", &Model::tokenize, "text"_a, "pair"_a = nb::none(), "max_length"_a.none() = 0,
           nb::sig("def tokenize(self, text: str | bytes, pair: str | bytes | None = None, max_length: int | None = 0) "
                   "-> dict[str, typing.Any]"),
           "The model's encoding of a text: {'tokens', 'input_ids', 'token_type_ids', 'truncated'}. "
           "max_length None: no truncation; 0: the model's maximum.")
      .def_prop_ro("labels", &Model::labels, "Label names by id (config.json id2label).")
      .def_prop_ro("display_labels", &Model::display_labels, "Label names for people (e.g. 正面/负面), by id.")
      .def_prop_ro("max_length", &Model::max_length, "Longest input in tokens, [CLS]/[SEP] included.")
      .def_prop_ro("precision", &Model::precision, "The precision the encoder runs in: fp32, bf16 or int8.")
      .def_prop_ro("backend", &Model::backend, "The compute backend, its matmul implementation and kernel ISA.")
      .def_prop_ro("threads", &Model::threads, "Threads asked for at load (0: all cores).")
      .def_prop_ro("config", &Model::config, nb::sig("def config(self) -> dict[str, int]"),
                   "The model's shape: layers, hidden size, heads, vocabulary, labels.");
}
