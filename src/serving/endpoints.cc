// The prediction endpoints' request formats and answers: seed GET /predict, Hugging Face TEI
// POST /predict, KServe v2 infer and model metadata. Parsing errors are thrown as detail::RequestError.
#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "senti/error.h"
#include "senti/text_rules.h"
#include "serving/http_util.h"
#include "serving/service.h"
#include "serving/service_detail.h"

namespace senti::serving {

using nlohmann::json;
using namespace detail;  // NOLINT: this file implements Service with its helpers

namespace {

// [{"label","score"}...] by score, highest first.
json ranked_scores(const Prediction& p, const BertConfig& config, bool raw) {
  const std::vector<float>& values = raw ? p.logits : p.scores;
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return values[a] > values[b]; });
  json out = json::array();
  for (const std::size_t i : order) {
    const std::string& label = i < config.labels.size() ? config.labels[i] : std::to_string(i);
    out.push_back({{"label", label}, {"score", values[i]}});
  }
  return out;
}

}  // namespace

void Service::predict_get(const std::shared_ptr<Call>& call, std::string_view query) {
  auto params = parse_query(query);
  if (!params) reject(400, "the query string has a malformed %-escape");
  const std::string* text = nullptr;
  for (const auto& [key, value] : *params)
    if (key == "text") text = &value;
  if (text == nullptr) reject(400, "missing query parameter: use GET /predict?text=...");
  std::vector<TextInput> inputs{{*text, std::nullopt}};
  std::string text_copy = *text;
  predict(call, std::move(inputs), true,
          [text_copy](const std::vector<Prediction>& predictions, const Timing& timing) {
            const Prediction& p = predictions.front();
            // The seed's key order.
            const nlohmann::ordered_json body = {{"text", text_copy},
                                                 {"sentiment", p.display_label.empty() ? p.label : p.display_label},
                                                 {"label", p.label},
                                                 {"score", p.score},
                                                 {"latency_ms", timing.total_ms}};
            HttpResponse r;
            r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
            return r;
          });
}

// Deeper nesting than any request of these APIs needs; deeper bodies are refused before parsing.
constexpr std::size_t kMaxJsonDepth = 64;

json Service::parse_json_body(const HttpRequest& http) {
  if (!is_json_content_type(http.content_type))
    throw RequestError{415, "Content-Type must be application/json, got \"" + excerpt(http.content_type, 100) + "\"",
                       "validation"};
  if (json_nesting_depth(http.body, kMaxJsonDepth) > kMaxJsonDepth)
    reject(400, "the body is JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  json request = json::parse(http.body, nullptr, false);
  if (request.is_discarded()) reject(400, "the body is not valid JSON");
  return request;
}

void Service::predict_tei(const std::shared_ptr<Call>& call, const HttpRequest& http) {
  const json request = parse_json_body(http);
  if (!request.is_object()) reject(400, "the body must be a JSON object such as {\"inputs\": \"text\"}");
  const auto inputs_it = request.find("inputs");
  if (inputs_it == request.end()) reject(400, "missing field \"inputs\"");
  bool raw_scores = false, truncate = true;
  if (auto it = request.find("raw_scores"); it != request.end() && !it->is_null()) {
    if (!it->is_boolean()) reject(400, "\"raw_scores\" must be true or false");
    raw_scores = it->get<bool>();
  }
  if (auto it = request.find("truncate"); it != request.end() && !it->is_null()) {
    if (!it->is_boolean()) reject(400, "\"truncate\" must be true or false");
    truncate = it->get<bool>();
  }
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
  predict(call, std::move(inputs), truncate,
          [batch, raw_scores, &config](const std::vector<Prediction>& predictions, const Timing&) {
            if (!batch) return json_response(200, ranked_scores(predictions.front(), config, raw_scores));
            json out = json::array();
            for (const auto& p : predictions) out.push_back(ranked_scores(p, config, raw_scores));
            return json_response(200, out);
          });
}

void Service::kserve_infer(const std::shared_ptr<Call>& call, const HttpRequest& http) {
  const json request = parse_json_body(http);
  if (!request.is_object()) reject(400, "the body must be a JSON object with \"inputs\"");
  const auto inputs_it = request.find("inputs");
  if (inputs_it == request.end() || !inputs_it->is_array() || inputs_it->empty())
    reject(400, "\"inputs\" must be a non-empty list of tensors");
  const json* tensor = nullptr;
  if (inputs_it->size() == 1) {
    tensor = &(*inputs_it)[0];
  } else {
    for (const json& t : *inputs_it) {
      if (!t.is_object()) reject(400, "an input tensor must be an object");
      const auto name = t.find("name");
      if (name == t.end() || !name->is_string()) reject(400, "every input tensor needs a \"name\" string");
      if (*name == "text") tensor = &t;
    }
    if (tensor == nullptr) reject(400, "several input tensors given and none is named \"text\"");
  }
  if (!tensor->is_object()) reject(400, "an input tensor must be an object");
  if (const auto name = tensor->find("name"); name == tensor->end() || !name->is_string())
    reject(400, "the input tensor needs a \"name\" string");
  const auto datatype = tensor->find("datatype");
  if (datatype == tensor->end() || !datatype->is_string() || *datatype != "BYTES")
    reject(400, "the input tensor's \"datatype\" must be \"BYTES\"");
  const auto shape = tensor->find("shape");
  if (shape == tensor->end() || !shape->is_array() || shape->empty()) reject(400, "the input tensor needs a \"shape\"");
  std::size_t elements = 1;
  for (const json& d : *shape) {
    if (!d.is_number_unsigned()) reject(400, "\"shape\" must hold non-negative integers");
    elements *= std::min<std::size_t>(d.get<std::size_t>(), 1u << 20);
  }
  const auto data = tensor->find("data");
  if (data == tensor->end() || !data->is_array()) reject(400, "the input tensor needs \"data\", a list of strings");
  std::vector<TextInput> inputs;
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
    if (inputs.size() > settings_.max_client_batch_size) break;
  }
  if (inputs.empty()) reject(422, "the input tensor has no texts");
  if (inputs.size() > settings_.max_client_batch_size)
    reject(422, "batch size is over the maximum of " + std::to_string(settings_.max_client_batch_size) +
                    " (--max-client-batch-size)");
  if (elements != inputs.size())
    reject(422, "\"shape\" says " + std::to_string(elements) + " elements but \"data\" has " +
                    std::to_string(inputs.size()));
  json id = request.contains("id") ? request["id"] : json();
  if (!id.is_null() && !id.is_string()) reject(400, "\"id\" must be a string");
  const std::string model_name = settings_.model_name;
  const BertConfig& config = config_;
  predict(call, std::move(inputs), true,
          [id, model_name, &config](const std::vector<Prediction>& predictions, const Timing&) {
            const std::size_t n = predictions.size();
            json labels = json::array(), scores = json::array(), all = json::array();
            for (const auto& p : predictions) {
              labels.push_back(p.label);
              scores.push_back(p.score);
              for (const float s : p.scores) all.push_back(s);
            }
            json out = {{"model_name", model_name},
                        {"model_version", "1"},
                        {"outputs",
                         {{{"name", "label"}, {"datatype", "BYTES"}, {"shape", {n}}, {"data", labels}},
                          {{"name", "score"}, {"datatype", "FP32"}, {"shape", {n}}, {"data", scores}},
                          {{"name", "scores"}, {"datatype", "FP32"}, {"shape", {n, config.num_labels()}}, {"data", all}}}}};
            if (!id.is_null()) out["id"] = id;
            return json_response(200, out);
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
