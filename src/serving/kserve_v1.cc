// KServe v1 (the TensorFlow-Serving-style "V1 protocol"), for KServe clients and InferenceServices:
//   GET  /v1/models                  {"models": ["<name>"]}
//   GET  /v1/models/<name>           {"name": "<name>", "ready": true} (503 while shutting down)
//   POST /v1/models/<name>:predict   {"instances": ["text", {"text": "text"}, ...]}
//                                    -> {"predictions": [{"label", "score", "scores": {label: probability}}...]}
//   POST /v1/models/<name>:explain   the same with explain=true -> {"explanations": [{... "explanation"}...]}
// in the order of the instances. "parameters": {"explain", "granularity", "long_text"} add "explanation",
// "sentences" and "chunks" to each object (analysis_answers.h). The same validation and limits as the other APIs (empty text 422,
// batch over --max-client-batch-size 422, --payload-limit 413); an unknown model is 404.
#include <string>
#include <vector>

#include "senti/text_rules.h"
#include "serving/analysis_answers.h"
#include "serving/http_util.h"
#include "serving/service.h"
#include "serving/service_detail.h"

namespace senti::serving {

using nlohmann::json;
using namespace detail;  // NOLINT: this file implements Service with its helpers

void Service::kserve_v1(const std::shared_ptr<Call>& call, const HttpRequest& http, std::string_view path) {
  if (path == "/v1/models" || path == "/v1/models/") {
    require_method(http.method, "GET", path);
    return finish(call, json_response(200, {{"models", {settings_.model_name}}}), "success");
  }
  const auto decoded = percent_decode(path.substr(std::string_view("/v1/models/").size()), false);
  if (!decoded) reject(400, "the model name in the path has a malformed %-escape");
  std::string name = *decoded;
  std::string verb;
  if (const std::size_t colon = name.rfind(':'); colon != std::string::npos) {
    verb = name.substr(colon + 1);
    name.resize(colon);
  }
  if (name != settings_.model_name)
    throw RequestError{404, "model \"" + excerpt(name) + "\" not found; this server serves \"" + settings_.model_name + "\"",
                       "not_found"};
  if (verb.empty() && decoded->find(':') == std::string::npos) {
    require_method(http.method, "GET", path);
    if (draining_) return fail(call, 503, "the server is shutting down", "unhealthy");
    return finish(call, json_response(200, {{"name", settings_.model_name}, {"ready", true}}), "success");
  }
  if (verb != "predict" && verb != "explain")
    throw RequestError{404, "no such KServe v1 verb \":" + excerpt(verb, 32) + "\"; this server answers :predict and :explain",
                       "not_found"};
  require_method(http.method, "POST", path);

  const json request = parse_json_body(http);
  if (!request.is_object()) reject(400, "the body must be a JSON object such as {\"instances\": [\"text\"]}");
  const auto instances = request.find("instances");
  if (instances == request.end()) reject(400, "missing field \"instances\"");
  if (!instances->is_array()) reject(400, "\"instances\" must be a list of texts");
  if (instances->empty()) reject(422, "\"instances\" cannot be an empty list");
  if (instances->size() > settings_.max_client_batch_size)
    reject(422, "batch size " + std::to_string(instances->size()) + " is over the maximum of " +
                    std::to_string(settings_.max_client_batch_size) + " (--max-client-batch-size)");
  std::vector<TextInput> inputs;
  for (const json& item : *instances) {
    const json* text = &item;
    if (item.is_object()) {
      const auto it = item.find("text");
      text = it == item.end() ? nullptr : &*it;
    }
    if (text == nullptr || !text->is_string())
      reject(400, "each item of \"instances\" must be a string or an object {\"text\": string}");
    inputs.push_back({text->get<std::string>(), std::nullopt});
  }
  const auto parameters = request.find("parameters");
  if (parameters != request.end() && !parameters->is_null() && !parameters->is_object())
    reject(400, "\"parameters\" must be an object");
  AnalysisRequest analysis = read_analysis_request(parameters != request.end() ? &*parameters : nullptr);
  const bool explain_verb = verb == "explain";
  if (explain_verb) {
    if (analysis.explain_given && !analysis.options.explain)
      reject(400, ":explain always explains; \"explain\": false goes with :predict");
    analysis.explain_given = true;
    analysis.options.explain = true;
  }
  const BertConfig& config = config_;
  auto prediction_object = [&config](const Prediction& p) {
    json scores = json::object();
    for (std::size_t i = 0; i < p.scores.size(); ++i)
      scores[i < config.labels.size() ? config.labels[i] : std::to_string(i)] = p.scores[i];
    return json{{"label", p.label}, {"score", p.score}, {"scores", std::move(scores)}};
  };
  if (analysis.any()) {
    return analyze(call, std::move(inputs), true, analysis,
                   [prediction_object, analysis, explain_verb](const std::vector<Analysis>& analyses, const Timing&) {
                     nlohmann::ordered_json out = nlohmann::ordered_json::array();
                     for (const Analysis& a : analyses) {
                       nlohmann::ordered_json o = prediction_object(a.prediction);  // label, score, scores
                       add_analysis_fields(o, a, analysis);
                       out.push_back(std::move(o));
                     }
                     return ordered_json_response(200, {{explain_verb ? "explanations" : "predictions", std::move(out)}});
                   });
  }
  predict(call, std::move(inputs), true, [prediction_object](const std::vector<Prediction>& predictions, const Timing&) {
    json out = json::array();
    for (const Prediction& p : predictions) out.push_back(prediction_object(p));
    return json_response(200, {{"predictions", std::move(out)}});
  });
}

}  // namespace senti::serving
