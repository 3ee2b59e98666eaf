// The prediction endpoints' request formats and answers: seed GET /predict, Hugging Face TEI
// POST /predict, KServe v2 infer and model metadata. Parsing errors are thrown as detail::RequestError.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "senti/error.h"
#include "senti/text_rules.h"
#include "serving/analysis_answers.h"
#include "serving/http_util.h"
#include "serving/kserve_binary.h"
#include "serving/service.h"
#include "serving/service_detail.h"

namespace senti::serving {

using nlohmann::json;
using namespace detail;  // NOLINT: this file implements Service with its helpers

namespace {

// The numbers a TEI answer ranks: probabilities (softmax, the model's scores), sigmoid of the logits,
// or the logits themselves ("none", or "raw_scores": true).
enum class ScoreFunction { kSoftmax, kSigmoid, kNone };

std::vector<float> answer_values(const Prediction& p, ScoreFunction fn) {
  if (fn == ScoreFunction::kSoftmax) return p.scores;
  std::vector<float> out = p.logits;
  if (fn == ScoreFunction::kSigmoid)
    for (float& v : out) v = 1.0f / (1.0f + std::exp(-v));
  return out;
}

// [{"label","score"}...] by score, highest first; the first top_k of them.
json ranked_scores(const Prediction& p, const BertConfig& config, ScoreFunction fn, std::size_t top_k) {
  const std::vector<float> values = answer_values(p, fn);
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return values[a] > values[b]; });
  json out = json::array();
  for (const std::size_t i : order) {
    if (out.size() >= top_k) break;
    const std::string& label = i < config.labels.size() ? config.labels[i] : std::to_string(i);
    out.push_back({{"label", label}, {"score", values[i]}});
  }
  return out;
}

// The answer options of a TEI request. TEI's own are top-level ("raw_scores", "truncate"); the Hugging
// Face Inference API, and so huggingface_hub's InferenceClient, sends "parameters": {"top_k",
// "function_to_apply", "truncate"}. Each is read from "parameters" when given there, else top-level.
// A request with "parameters" (huggingface_hub always sends it, {} at least) gets the Inference API's
// answer shape: a list of rankings even for one text, which InferenceClient.text_classification unwraps
// with [0]; without it a single text gets TEI's flat ranking.
// explain, granularity and long_text (analysis_answers.h) are read the same way.
struct TeiOptions {
  bool truncate = true;
  bool nested = false;
  ScoreFunction fn = ScoreFunction::kSoftmax;
  std::size_t top_k = static_cast<std::size_t>(-1);
  AnalysisRequest analysis;
};

TeiOptions tei_options(const json& request) {
  TeiOptions o;
  const json* parameters = nullptr;
  if (const auto it = request.find("parameters"); it != request.end() && !it->is_null()) {
    if (!it->is_object()) reject(400, "\"parameters\" must be an object");
    parameters = &*it;
    o.nested = true;
  }
  auto option = [&](std::string_view name) -> const json* {
    const std::string key(name);
    if (parameters != nullptr)
      if (const auto it = parameters->find(key); it != parameters->end() && !it->is_null()) return &*it;
    if (const auto it = request.find(key); it != request.end() && !it->is_null()) return &*it;
    return nullptr;
  };
  bool raw_scores = false;
  if (const json* v = option("raw_scores")) {
    if (!v->is_boolean()) reject(400, "\"raw_scores\" must be true or false");
    raw_scores = v->get<bool>();
  }
  if (const json* v = option("truncate")) {
    if (!v->is_boolean()) reject(400, "\"truncate\" must be true or false");
    o.truncate = v->get<bool>();
  }
  if (const json* v = option("top_k")) {
    if (!v->is_number_unsigned() || v->get<std::uint64_t>() == 0) reject(400, "\"top_k\" must be a positive integer");
    o.top_k = static_cast<std::size_t>(std::min<std::uint64_t>(v->get<std::uint64_t>(), o.top_k));
  }
  o.fn = raw_scores ? ScoreFunction::kNone : ScoreFunction::kSoftmax;
  if (const json* v = option("function_to_apply")) {
    const std::string name = v->is_string() ? v->get<std::string>() : std::string();
    if (name == "softmax") o.fn = ScoreFunction::kSoftmax;
    else if (name == "sigmoid") o.fn = ScoreFunction::kSigmoid;
    else if (name == "none") o.fn = ScoreFunction::kNone;
    else reject(400, "\"function_to_apply\" must be \"softmax\", \"sigmoid\" or \"none\"");
    if (raw_scores && o.fn != ScoreFunction::kNone)
      reject(400, "\"raw_scores\": true asks for the logits; it cannot go with \"function_to_apply\": \"" + name + "\"");
  }
  o.analysis = read_analysis_request(option);
  return o;
}

// The outputs a KServe v2 infer request can have: label, score, scores, and the analysis outputs its
// parameters ask for. Naming an analysis output without its parameter is a 400 that says which one.
std::vector<std::string> infer_outputs(const json& request, const AnalysisRequest& analysis) {
  struct AnalysisOutput {
    const char* name;
    bool enabled;
    const char* needs;
  };
  const AnalysisOutput analysis_outputs[] = {{"explanation", analysis.explanation(), "{\"explain\": true}"},
                                             {"sentences", analysis.sentences(), "{\"granularity\": \"sentence\"}"},
                                             {"chunks", analysis.chunks(), "{\"long_text\": \"chunk\"} (or \"truncate\")"}};
  std::vector<std::string> available = {"label", "score", "scores"};
  const auto requested = request.find("outputs");
  for (const AnalysisOutput& o : analysis_outputs) {
    if (o.enabled) {
      available.emplace_back(o.name);
      continue;
    }
    if (requested == request.end() || !requested->is_array()) continue;
    for (const json& r : *requested)
      if (r.is_object() && r.contains("name") && r["name"] == o.name)
        reject(400, std::string("output \"") + o.name + "\" needs the request's \"parameters\": " + o.needs);
  }
  return available;
}

// The output tensors of an infer answer, one element (or row) per input. analyses: the inputs' analyses
// (nullptr for a plain request, which asks for no analysis output).
std::vector<kserve::OutputTensor> infer_tensors(const std::vector<kserve::RequestedOutput>& outputs,
                                                const std::vector<const Prediction*>& predictions, std::size_t labels,
                                                const std::vector<Analysis>* analyses, const AnalysisRequest& analysis) {
  const std::size_t n = predictions.size();
  std::vector<kserve::OutputTensor> tensors;
  for (const kserve::RequestedOutput& o : outputs) {
    kserve::OutputTensor t{o.name, {n}, kserve::Datatype::kBytes, o.binary, {}, {}, {}};
    if (o.name == "label") {
      for (const Prediction* p : predictions) t.bytes.push_back(p->label);
    } else if (o.name == "score") {
      t.datatype = kserve::Datatype::kFp32;
      for (const Prediction* p : predictions) t.fp32.push_back(p->score);
    } else if (o.name == "scores") {
      t.datatype = kserve::Datatype::kFp32;
      t.shape = {n, labels};
      for (const Prediction* p : predictions) t.fp32.insert(t.fp32.end(), p->scores.begin(), p->scores.end());
    } else if (analyses != nullptr && o.name == "explanation") {
      for (const Analysis& a : *analyses) t.bytes.push_back(dump_json(explanation_json(a)));
    } else if (analyses != nullptr && o.name == "sentences") {
      for (const Analysis& a : *analyses) t.bytes.push_back(dump_json(sentences_json(a, analysis.chunks())));
    } else if (analyses != nullptr && o.name == "chunks") {
      t.datatype = kserve::Datatype::kInt64;
      for (const Analysis& a : *analyses) t.int64.push_back(static_cast<std::int64_t>(a.chunks));
    }
    tensors.push_back(std::move(t));
  }
  return tensors;
}

}  // namespace

void Service::predict_get(const std::shared_ptr<Call>& call, std::string_view query) {
  auto params = parse_query(query);
  if (!params) reject(400, "the query string has a malformed %-escape");
  const std::string* text = nullptr;
  json analysis_params = json::object();
  for (const auto& [key, value] : *params) {
    if (key == "text") text = &value;
    if (key == "explain" || key == "granularity" || key == "long_text") analysis_params[key] = value;
  }
  if (text == nullptr) reject(400, "missing query parameter: use GET /predict?text=...");
  const AnalysisRequest analysis = read_analysis_request(&analysis_params);
  std::vector<TextInput> inputs{{*text, std::nullopt}};
  std::string text_copy = *text;
  // The seed's key order, then the analysis fields.
  auto seed_object = [text_copy](const Prediction& p, const Timing& timing) {
    return nlohmann::ordered_json{{"text", text_copy},
                                  {"sentiment", p.display_label.empty() ? p.label : p.display_label},
                                  {"label", p.label},
                                  {"score", p.score},
                                  {"latency_ms", timing.total_ms}};
  };
  if (analysis.any()) {
    return analyze(call, std::move(inputs), true, analysis,
                   [seed_object, analysis](const std::vector<Analysis>& analyses, const Timing& timing) {
                     nlohmann::ordered_json body = seed_object(analyses.front().prediction, timing);
                     add_analysis_fields(body, analyses.front(), analysis);
                     return ordered_json_response(200, body);
                   });
  }
  predict(call, std::move(inputs), true, [seed_object](const std::vector<Prediction>& predictions, const Timing& timing) {
    return ordered_json_response(200, seed_object(predictions.front(), timing));
  });
}

// Deeper nesting than any request of these APIs needs; deeper bodies are refused before parsing.
constexpr std::size_t kMaxJsonDepth = 64;

json Service::parse_json_body(const HttpRequest& http) {
  if (!is_json_content_type(http.content_type))
    throw RequestError{415, "Content-Type must be application/json, got \"" + excerpt(http.content_type, 100) + "\"",
                       "validation"};
  return parse_json_text(http.body);
}

json Service::parse_json_text(std::string_view text) {
  if (json_nesting_depth(text, kMaxJsonDepth) > kMaxJsonDepth)
    reject(400, "the body is JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  json request = json::parse(text, nullptr, false);
  if (request.is_discarded()) reject(400, "the body is not valid JSON");
  return request;
}

void Service::predict_tei(const std::shared_ptr<Call>& call, const HttpRequest& http) {
  const json request = parse_json_body(http);
  if (!request.is_object()) reject(400, "the body must be a JSON object such as {\"inputs\": \"text\"}");
  const auto inputs_it = request.find("inputs");
  if (inputs_it == request.end()) reject(400, "missing field \"inputs\"");
  const TeiOptions options = tei_options(request);
  const json& in = *inputs_it;
  std::vector<TextInput> inputs;
  bool batch = false;
  if (in.is_string()) {
    inputs.push_back({in.get<std::string>(), std::nullopt});
  } else if (in.is_array()) {
    batch = true;
    if (in.empty()) reject(422, "\"inputs\" cannot be an empty list");
    if (in.size() > settings_.max_client_batch_size)
      reject(422, "batch size " + std::to_string(in.size()) + " is over the maximum of " +
                      std::to_string(settings_.max_client_batch_size) + " (--max-client-batch-size)");
    for (const json& item : in) {
      if (item.is_string()) {
        inputs.push_back({item.get<std::string>(), std::nullopt});
      } else if (item.is_array() && item.size() == 1 && item[0].is_string()) {
        inputs.push_back({item[0].get<std::string>(), std::nullopt});
      } else if (item.is_array() && item.size() == 2 && item[0].is_string() && item[1].is_string()) {
        inputs.push_back({item[0].get<std::string>(), item[1].get<std::string>()});
      } else {
        reject(400, "each item of \"inputs\" must be a string, [text] or [text, text_pair]");
      }
    }
  } else {
    reject(400, "\"inputs\" must be a string or a list of texts");
  }
  const BertConfig& config = config_;
  if (options.analysis.any()) {
    // Each input's answer is an object: its ranking and the analysis fields; a single text gets one object.
    return analyze(call, std::move(inputs), options.truncate, options.analysis,
                   [batch, options, &config](const std::vector<Analysis>& analyses, const Timing&) {
                     nlohmann::ordered_json out = nlohmann::ordered_json::array();
                     for (const Analysis& a : analyses) {
                       nlohmann::ordered_json o = {{"predictions", ranked_scores(a.prediction, config, options.fn, options.top_k)}};
                       add_analysis_fields(o, a, options.analysis);
                       out.push_back(std::move(o));
                     }
                     return ordered_json_response(200, batch ? out : out.front());
                   });
  }
  predict(call, std::move(inputs), options.truncate,
          [batch, options, &config](const std::vector<Prediction>& predictions, const Timing&) {
            if (!batch && !options.nested) return json_response(200, ranked_scores(predictions.front(), config, options.fn, options.top_k));
            json out = json::array();
            for (const auto& p : predictions) out.push_back(ranked_scores(p, config, options.fn, options.top_k));
            return json_response(200, out);
          });
}

void Service::kserve_infer(const std::shared_ptr<Call>& call, const HttpRequest& http) {
  const bool binary_body = http.inference_header_length.has_value();
  if (binary_body && !is_json_content_type(http.content_type) &&
      http.content_type.substr(0, http.content_type.find(';')) != "application/octet-stream")
    throw RequestError{415, "with " + std::string(kserve::kHeaderLengthField) +
                                ", Content-Type must be application/octet-stream or JSON, got \"" +
                                excerpt(http.content_type, 100) + "\"", "validation"};
  const kserve::SplitBody body = kserve::split_body(http.body, http.inference_header_length);
  const json request = binary_body ? parse_json_text(body.header) : parse_json_body(http);
  if (!request.is_object()) reject(400, "the body must be a JSON object with \"inputs\"");
  const auto inputs_it = request.find("inputs");
  if (inputs_it == request.end() || !inputs_it->is_array() || inputs_it->empty())
    reject(400, "\"inputs\" must be a non-empty list of tensors");
  // The inputs in order: each with a binary_data_size takes its share of the binary data.
  const bool single = inputs_it->size() == 1;
  kserve::BinaryCursor cursor(body.binary);
  const json* tensor = nullptr;
  std::optional<std::string_view> tensor_binary;
  for (const json& t : *inputs_it) {
    if (!t.is_object()) reject(400, "an input tensor must be an object");
    const auto name = t.find("name");
    if (name == t.end() || !name->is_string())
      reject(400, single ? "the input tensor needs a \"name\" string" : "every input tensor needs a \"name\" string");
    std::optional<std::string_view> chunk;
    if (const auto size = kserve::binary_data_size(t)) chunk = cursor.take(*size, name->get_ref<const std::string&>());
    if (single || *name == "text") {
      tensor = &t;
      tensor_binary = chunk;
    }
  }
  cursor.expect_end();
  if (tensor == nullptr) reject(400, "several input tensors given and none is named \"text\"");
  const std::string& tensor_name = (*tensor)["name"].get_ref<const std::string&>();
  const auto datatype = tensor->find("datatype");
  if (datatype == tensor->end() || !datatype->is_string() || *datatype != "BYTES")
    reject(400, "the input tensor's \"datatype\" must be \"BYTES\"");
  const auto shape = tensor->find("shape");
  if (shape == tensor->end() || !shape->is_array() || shape->empty()) reject(400, "the input tensor needs a \"shape\"");
  // The element count, saturated (any count this large is refused below).
  constexpr std::uint64_t kManyElements = std::uint64_t{1} << 40;
  std::uint64_t elements = 1;
  for (const json& d : *shape) {
    if (!d.is_number_unsigned()) reject(400, "\"shape\" must hold non-negative integers");
    const std::uint64_t dim = d.get<std::uint64_t>();
    elements = dim != 0 && elements > kManyElements / dim ? kManyElements : elements * dim;
  }
  const std::size_t max_batch = settings_.max_client_batch_size;
  std::vector<TextInput> inputs;
  if (tensor_binary) {
    if (tensor->contains("data"))
      reject(400, "the input tensor has both \"data\" and binary data (binary_data_size); send one of them");
    for (std::string& text : kserve::decode_bytes(*tensor_binary, max_batch, tensor_name))
      inputs.push_back({std::move(text), std::nullopt});
  } else {
    const auto data = tensor->find("data");
    if (data == tensor->end() || !data->is_array())
      reject(400, "the input tensor needs \"data\", a list of strings, or binary data (binary_data_size)");
    // Row-major data, flat or nested one level ([["a"], ["b"]]).
    for (const json& d : *data) {
      if (d.is_string()) {
        inputs.push_back({d.get<std::string>(), std::nullopt});
      } else if (d.is_array()) {
        for (const json& e : d) {
          if (!e.is_string()) reject(400, "\"data\" must hold strings");
          inputs.push_back({e.get<std::string>(), std::nullopt});
        }
      } else {
        reject(400, "\"data\" must hold strings");
      }
      if (inputs.size() > max_batch) break;
    }
  }
  if (inputs.empty()) reject(422, "the input tensor has no texts");
  if (inputs.size() > max_batch)
    reject(422, "batch size is over the maximum of " + std::to_string(max_batch) + " (--max-client-batch-size)");
  if (elements != inputs.size())
    reject(422, "\"shape\" says " + std::to_string(elements) + " elements but \"data\" has " +
                    std::to_string(inputs.size()));
  json id = request.contains("id") ? request["id"] : json();
  if (!id.is_null() && !id.is_string()) reject(400, "\"id\" must be a string");
  const auto parameters = request.find("parameters");
  const AnalysisRequest analysis =
      read_analysis_request(parameters != request.end() && parameters->is_object() ? &*parameters : nullptr);
  const std::vector<kserve::RequestedOutput> outputs = kserve::requested_outputs(request, infer_outputs(request, analysis));
  const std::string model_name = settings_.model_name;
  const std::size_t labels = config_.num_labels();
  auto answer = [id, model_name](std::vector<kserve::OutputTensor> tensors) {
    json header = {{"model_name", model_name}, {"model_version", "1"}};
    if (!id.is_null()) header["id"] = id;
    return kserve::infer_response(std::move(header), tensors);
  };
  if (analysis.any()) {
    return analyze(call, std::move(inputs), true, analysis,
                   [answer, outputs, labels, analysis](const std::vector<Analysis>& analyses, const Timing&) {
                     std::vector<const Prediction*> predictions;
                     for (const Analysis& a : analyses) predictions.push_back(&a.prediction);
                     return answer(infer_tensors(outputs, predictions, labels, &analyses, analysis));
                   });
  }
  predict(call, std::move(inputs), true,
          [answer, outputs, labels, analysis](const std::vector<Prediction>& predictions, const Timing&) {
            std::vector<const Prediction*> each;
            for (const Prediction& p : predictions) each.push_back(&p);
            return answer(infer_tensors(outputs, each, labels, nullptr, analysis));
          });
}

json Service::kserve_model_metadata() const {
  const auto n = config_.num_labels();
  return {{"name", settings_.model_name},
          {"versions", {"1"}},
          {"platform", "senti"},
          {"inputs", {{{"name", "text"}, {"datatype", "BYTES"}, {"shape", {-1}}}}},
          {"outputs",
           {{{"name", "label"}, {"datatype", "BYTES"}, {"shape", {-1}}},
            {{"name", "score"}, {"datatype", "FP32"}, {"shape", {-1}}},
            {{"name", "scores"}, {"datatype", "FP32"}, {"shape", {-1, static_cast<long>(n)}}}}}};
}

}  // namespace senti::serving
