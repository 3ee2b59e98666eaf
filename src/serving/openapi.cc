// The OpenAPI 3.0 description of the senti HTTP API (GET /openapi.json).
#include <string>

#include "serving/service.h"

namespace senti::serving {

using nlohmann::json;

namespace {

json ref(const std::string& name) { return {{"$ref", "#/components/schemas/" + name}}; }

json json_content(const json& schema) { return {{"application/json", {{"schema", schema}}}}; }

json error_response(const std::string& description) {
  return {{"description", description}, {"content", json_content(ref("Error"))}};
}

json errors(std::initializer_list<int> codes) {
  json out = json::object();
  for (const int code : codes) {
    switch (code) {
      case 400: out["400"] = error_response("Malformed request: bad JSON, wrong types, invalid UTF-8; explain, granularity or "
                                            "long_text not one of their values (the message names them)"); break;
      case 404: out["404"] = error_response("Unknown model"); break;
      case 413: out["413"] = error_response("Body over --payload-limit"); break;
      case 415: out["415"] = error_response("Content-Type not JSON (with Inference-Header-Content-Length: or application/octet-stream)"); break;
      case 422: out["422"] = error_response("Empty text, batch over --max-client-batch-size, text too long with truncate=false, "
                                            "analysis over --max-analysis-tokens of model work, analysis of a text pair"); break;
      case 429: out["429"] = error_response("Over --max-concurrent-requests, or too much analysis work in flight "
                                            "(8 x --max-analysis-tokens)"); break;
      case 500: out["500"] = error_response("Inference failed"); break;
      case 503: out["503"] = error_response("Shutting down"); break;
      default: break;
    }
  }
  return out;
}

json timing_headers() {
  const json ms = {{"schema", {{"type", "number"}}}};
  const json count = {{"schema", {{"type", "integer"}}}};
  return {{"x-total-time", {{"description", "Milliseconds from request read to answer"}, {"schema", ms["schema"]}}},
          {"x-tokenization-time", {{"description", "Milliseconds spent tokenizing"}, {"schema", ms["schema"]}}},
          {"x-queue-time", {{"description", "Milliseconds waiting for the engine"}, {"schema", ms["schema"]}}},
          {"x-inference-time", {{"description", "Milliseconds of model time of the batch"}, {"schema", ms["schema"]}}},
          {"x-compute-tokens", {{"description", "Tokens the model saw"}, {"schema", count["schema"]}}},
          {"x-compute-characters", {{"description", "Bytes of input text"}, {"schema", count["schema"]}}},
          {"x-batch-size", {{"description", "Texts in the engine batch"}, {"schema", count["schema"]}}}};
}

json ok(const std::string& description, const json& schema, bool timed = false) {
  json r = {{"description", description}, {"content", json_content(schema)}};
  if (timed) r["headers"] = timing_headers();
  return r;
}

json get_op(const std::string& summary, const std::string& id, json responses, json parameters = json()) {
  json op = {{"summary", summary}, {"operationId", id}, {"responses", std::move(responses)}};
  if (!parameters.is_null()) op["parameters"] = std::move(parameters);
  return op;
}

// The analysis parameters (analysis_answers.h), as properties of a request object.
json analysis_properties() {
  return {{"explain",
           {{"type", "boolean"},
            {"description", "Word weights: how much each word supports the predicted label (occlusion; the answer's "
                            "\"explanation\")"}}},
          {"granularity",
           {{"type", "string"},
            {"enum", {"text", "sentence"}},
            {"default", "text"},
            {"description", "sentence: also classify every sentence alone (the answer's \"sentences\")"}}},
          {"long_text",
           {{"type", "string"},
            {"enum", {"truncate", "chunk"}},
            {"default", "truncate"},
            {"description", "chunk: classify a text over the model maximum in overlapping windows and average them; "
                            "given either way, the answer has \"chunks\""}}}};
}

// The analysis answer fields, as properties of an answer object.
json analysis_answer_properties() {
  return {{"explanation", {{"type", "array"}, {"items", ref("WordWeight")}, {"description", "With explain=true"}}},
          {"sentences", {{"type", "array"}, {"items", ref("SentenceResult")}, {"description", "With granularity=sentence"}}},
          {"chunks", {{"type", "integer"}, {"minimum", 1}, {"description", "With long_text: windows the text was classified in"}}}};
}

json schemas() {
  json s;
  s["WordWeight"] = {{"type", "object"},
                     {"required", {"text", "start", "end", "weight"}},
                     {"description", "A word of the text: [start, end) in code points (text[start:end] in Python)"},
                     {"properties",
                      {{"text", {{"type", "string"}}},
                       {"start", {{"type", "integer"}}},
                       {"end", {{"type", "integer"}}},
                       {"weight",
                        {{"type", "number"},
                         {"description", "Drop of the predicted label's probability without the word: positive "
                                         "supports the label, negative argues against it"}}}}}};
  s["SentenceResult"] = {{"type", "object"},
                         {"required", {"text", "start", "end", "label", "sentiment", "score"}},
                         {"description", "A sentence classified alone: [start, end) in code points"},
                         {"properties",
                          {{"text", {{"type", "string"}}},
                           {"start", {{"type", "integer"}}},
                           {"end", {{"type", "integer"}}},
                           {"label", {{"type", "string"}}},
                           {"sentiment", {{"type", "string"}, {"description", "Display label"}}},
                           {"score", {{"type", "number"}}},
                           {"chunks", {{"type", "integer"}, {"description", "With long_text"}}}}}};
  s["Error"] = {{"type", "object"},
                {"required", {"error", "error_type"}},
                {"properties",
                 {{"error", {{"type", "string"}}},
                  {"error_type",
                   {{"type", "string"},
                    {"enum", {"validation", "overloaded", "backend", "unhealthy", "not_found", "method_not_allowed"}}}}}}};
  s["SeedPrediction"] = {{"type", "object"},
                         {"required", {"text", "sentiment", "label", "score", "latency_ms"}},
                         {"properties",
                          {{"text", {{"type", "string"}}},
                           {"sentiment", {{"type", "string"}, {"description", "Display label, e.g. 正面 / 负面"}}},
                           {"label", {{"type", "string"}}},
                           {"score", {{"type", "number"}}},
                           {"latency_ms", {{"type", "number"}}}}}};
  s["SeedPrediction"]["properties"].update(analysis_answer_properties());
  s["Rank"] = {{"type", "object"},
               {"required", {"label", "score"}},
               {"properties", {{"label", {{"type", "string"}}}, {"score", {{"type", "number"}}}}}};
  s["Ranks"] = {{"type", "array"}, {"items", ref("Rank")}, {"description", "Every label, highest score first"}};
  const json sequence = {{"oneOf",
                          {{{"type", "string"}},
                           {{"type", "array"}, {"items", {{"type", "string"}}}, {"minItems", 1}, {"maxItems", 2}}}}};
  s["PredictRequest"] = {
      {"type", "object"},
      {"required", {"inputs"}},
      {"properties",
       {{"inputs",
         {{"oneOf", {{{"type", "string"}}, {{"type", "array"}, {"items", sequence}, {"minItems", 1}}}},
          {"description", "A text, or a batch: [\"t1\", \"t2\"], [[\"t1\"], [\"t2\"]] or [[\"text\", \"pair\"]]"}}},
        {"raw_scores", {{"type", "boolean"}, {"default", false}, {"description", "Logits instead of probabilities"}}},
        {"truncate", {{"type", "boolean"}, {"default", true}, {"description", "false: reject texts over the model maximum"}}},
        {"top_k", {{"type", "integer"}, {"minimum", 1}, {"description", "Only the first top_k labels of each ranking"}}},
        {"function_to_apply",
         {{"type", "string"},
          {"enum", {"softmax", "sigmoid", "none"}},
          {"default", "softmax"},
          {"description", "softmax: probabilities; sigmoid: sigmoid of each logit; none: the logits (as raw_scores)"}}},
        {"parameters",
         {{"type", "object"},
          {"description",
           "The Hugging Face Inference API form, as huggingface_hub's InferenceClient sends it: top_k, "
           "function_to_apply and truncate (they win over the same keys at the top level). With \"parameters\" "
           "the answer is always a list of rankings, one per input, also for a single text. With explain, "
           "granularity or long_text (here or at the top level) each input's answer is an AnalysisAnswer instead: "
           "one object for a single text, a list of them for a list"},
          {"properties",
           {{"top_k", {{"type", "integer"}, {"minimum", 1}}},
            {"function_to_apply", {{"type", "string"}, {"enum", {"softmax", "sigmoid", "none"}}}},
            {"truncate", {{"type", "boolean"}}}}}}}}}};
  s["PredictRequest"]["properties"].update(analysis_properties());
  s["PredictRequest"]["properties"]["parameters"]["properties"].update(analysis_properties());
  s["AnalysisAnswer"] = {{"type", "object"},
                         {"required", {"predictions"}},
                         {"properties", {{"predictions", ref("Ranks")}}}};
  s["AnalysisAnswer"]["properties"].update(analysis_answer_properties());
  s["PredictResponse"] = {{"oneOf",
                           {ref("Ranks"), {{"type", "array"}, {"items", ref("Ranks")}}, ref("AnalysisAnswer"),
                            {{"type", "array"}, {"items", ref("AnalysisAnswer")}}}}};
  const json tensor_properties = {
      {"name", {{"type", "string"}}},
      {"datatype", {{"type", "string"}}},
      {"shape", {{"type", "array"}, {"items", {{"type", "integer"}}}}},
      {"data", {{"type", "array"}, {"items", json::object()}, {"description", "Absent when the tensor is binary"}}},
      {"parameters",
       {{"type", "object"},
        {"properties",
         {{"binary_data_size",
           {{"type", "integer"},
            {"minimum", 0},
            {"description", "Binary tensor extension: the tensor's bytes follow the JSON header, in tensor order. "
                            "BYTES: each element a 4-byte little-endian length and its bytes; FP32: little-endian"}}}}}}}};
  s["InferTensor"] = {{"type", "object"},
                      {"required", {"name", "datatype", "shape"}},
                      {"properties", tensor_properties}};
  s["InferRequestedOutput"] = {
      {"type", "object"},
      {"required", {"name"}},
      {"properties",
       {{"name",
         {{"type", "string"},
          {"enum", {"label", "score", "scores", "explanation", "sentences", "chunks"}},
          {"description", "explanation (BYTES: each element the JSON array of WordWeight of that input), sentences "
                          "(BYTES: JSON arrays of SentenceResult) and chunks (INT64) need their request parameter"}}},
        {"parameters",
         {{"type", "object"},
          {"properties", {{"binary_data", {{"type", "boolean"}, {"description", "Answer this output as binary data"}}}}}}}}}};
  s["InferRequest"] = {
      {"type", "object"},
      {"required", {"inputs"}},
      {"properties",
       {{"id", {{"type", "string"}}},
        {"inputs", {{"type", "array"}, {"items", ref("InferTensor")}, {"minItems", 1}}},
        {"outputs",
         {{"type", "array"},
          {"items", ref("InferRequestedOutput")},
          {"description", "The outputs to answer, in this order (all three when absent or empty)"}}},
        {"parameters",
         {{"type", "object"},
          {"properties",
           {{"binary_data_output",
             {{"type", "boolean"}, {"description", "Answer every output without its own binary_data as binary data"}}}}}}}}}};
  s["InferRequest"]["properties"]["parameters"]["properties"].update(analysis_properties());
  const json text_object = {{"type", "object"}, {"required", {"text"}}, {"properties", {{"text", {{"type", "string"}}}}}};
  const json instance = {{"oneOf", {{{"type", "string"}}, text_object}}};
  s["V1PredictRequest"] = {{"type", "object"},
                           {"required", {"instances"}},
                           {"properties",
                            {{"instances", {{"type", "array"}, {"minItems", 1}, {"items", instance}}},
                             {"parameters", {{"type", "object"}, {"properties", analysis_properties()}}}}}};
  s["V1Prediction"] = {
      {"type", "object"},
      {"required", {"label", "score", "scores"}},
      {"properties",
       {{"label", {{"type", "string"}}},
        {"score", {{"type", "number"}, {"description", "Probability of the label"}}},
        {"scores",
         {{"type", "object"},
          {"additionalProperties", {{"type", "number"}}},
          {"description", "Probability of every label, by label"}}}}}};
  s["V1Prediction"]["properties"].update(analysis_answer_properties());
  s["V1PredictResponse"] = {{"type", "object"},
                            {"required", {"predictions"}},
                            {"properties", {{"predictions", {{"type", "array"}, {"items", ref("V1Prediction")}}}}}};
  s["V1ExplainResponse"] = {{"type", "object"},
                            {"required", {"explanations"}},
                            {"properties", {{"explanations", {{"type", "array"}, {"items", ref("V1Prediction")}}}}}};
  s["InferResponse"] = {{"type", "object"},
                        {"required", {"model_name", "outputs"}},
                        {"properties",
                         {{"model_name", {{"type", "string"}}},
                          {"model_version", {{"type", "string"}}},
                          {"id", {{"type", "string"}}},
                          {"outputs", {{"type", "array"}, {"items", ref("InferTensor")}}}}}};
  s["Info"] = {{"type", "object"},
               {"properties",
                {{"model", {{"type", "string"}}},
                 {"labels", {{"type", "array"}, {"items", {{"type", "object"}}}}},
                 {"max_input_length", {{"type", "integer"}}},
                 {"precision", {{"type", "string"}}},
                 {"backend", {{"type", "string"}}},
                 {"version", {{"type", "string"}}}}}};
  s["Status"] = {{"type", "object"}, {"properties", {{"status", {{"type", "string"}}}}}};
  return s;
}

}  // namespace

json openapi_document(const std::string& version, const std::string& model_name) {
  const json model_param = {{{"name", "model"}, {"in", "path"}, {"required", true},
                             {"schema", {{"type", "string"}, {"example", model_name}}}}};
  json paths;
  json predict_responses = errors({400, 422, 429, 500, 503});
  predict_responses["200"] = ok("The prediction", ref("SeedPrediction"), true);
  json tei_responses = errors({400, 413, 422, 429, 500, 503});
  tei_responses["200"] = ok("Scores of every label, highest first (a list of those for a batch)", ref("PredictResponse"), true);
  json predict_get_parameters = {{{"name", "text"}, {"in", "query"}, {"required", true}, {"schema", {{"type", "string"}}}}};
  const json analysis = analysis_properties();
  for (const auto& [name, schema] : analysis.items()) {
    json query_schema = schema;
    query_schema.erase("description");
    if (name == "explain") query_schema = {{"type", "string"}, {"enum", {"true", "false", "1", "0"}}};
    predict_get_parameters.push_back({{"name", name},
                                      {"in", "query"},
                                      {"required", false},
                                      {"description", schema.at("description")},
                                      {"schema", query_schema}});
  }
  paths["/predict"] = {
      {"get", get_op("Classify one text (seed-compatible); explain, granularity and long_text add explanation, "
                     "sentences and chunks",
                     "predict_get", predict_responses, predict_get_parameters)},
      {"post",
       {{"summary", "Classify texts (Hugging Face TEI-compatible)"},
        {"operationId", "predict"},
        {"requestBody", {{"required", true}, {"content", json_content(ref("PredictRequest"))}}},
        {"responses", tei_responses}}}};
  json infer_responses = errors({400, 404, 413, 415, 422, 429, 500, 503});
  infer_responses["200"] = ok("Outputs label (BYTES), score (FP32) and scores (FP32, [n, labels]); with the request "
                              "parameters explain, granularity=sentence or long_text also explanation (BYTES, JSON), "
                              "sentences (BYTES, JSON) and chunks (INT64)",
                              ref("InferResponse"), true);
  const std::string binary_note =
      "Binary tensor extension: the JSON header (Inference-Header-Content-Length bytes) followed by the binary data "
      "of the outputs with \"parameters\": {\"binary_data_size\": n}, in output order";
  infer_responses["200"]["content"]["application/octet-stream"] = {
      {"schema", {{"type", "string"}, {"format", "binary"}, {"description", binary_note}}}};
  infer_responses["200"]["headers"]["Inference-Header-Content-Length"] = {
      {"description", "Binary answers: the byte length of the JSON header at the start of the body"},
      {"schema", {{"type", "integer"}}}};
  json infer_parameters = model_param;
  infer_parameters.push_back({{"name", "Inference-Header-Content-Length"},
                              {"in", "header"},
                              {"required", false},
                              {"description", "Binary tensor extension: the body is this many bytes of JSON header, "
                                              "then the inputs' binary data (their binary_data_size, in input order)"},
                              {"schema", {{"type", "integer"}, {"minimum", 0}}}});
  json infer_body = json_content(ref("InferRequest"));
  infer_body["application/octet-stream"] = {
      {"schema", {{"type", "string"}, {"format", "binary"}, {"description", "JSON header and binary tensor data"}}}};
  paths["/v2/models/{model}/infer"] = {
      {"post",
       {{"summary", "KServe v2 / Open Inference Protocol inference on a BYTES tensor of texts, JSON or binary tensors "
                    "(tritonclient.http's default)"},
        {"operationId", "kserve_infer"},
        {"parameters", infer_parameters},
        {"requestBody", {{"required", true}, {"content", infer_body}}},
        {"responses", infer_responses}}}};
  json v1_responses = errors({400, 404, 413, 415, 422, 429, 500, 503});
  v1_responses["200"] = ok("One prediction per instance, in order", ref("V1PredictResponse"), true);
  paths["/v1/models/{model}:predict"] = {
      {"post",
       {{"summary", "KServe v1 prediction: {\"instances\": [text, ...]}"},
        {"operationId", "kserve_v1_predict"},
        {"parameters", model_param},
        {"requestBody", {{"required", true}, {"content", json_content(ref("V1PredictRequest"))}}},
        {"responses", v1_responses}}}};
  json v1_explain_responses = errors({400, 404, 413, 415, 422, 429, 500, 503});
  v1_explain_responses["200"] = ok("One object per instance, in order, with its explanation", ref("V1ExplainResponse"), true);
  paths["/v1/models/{model}:explain"] = {
      {"post",
       {{"summary", "KServe v1 explain: :predict with explain=true (\"parameters\" may add granularity and long_text)"},
        {"operationId", "kserve_v1_explain"},
        {"parameters", model_param},
        {"requestBody", {{"required", true}, {"content", json_content(ref("V1PredictRequest"))}}},
        {"responses", v1_explain_responses}}}};
  json v1_ready = errors({404, 503});
  v1_ready["200"] = ok("{\"name\", \"ready\": true}", {{"type", "object"}});
  paths["/v1/models/{model}"] = {{"get", get_op("KServe v1 model readiness", "kserve_v1_model_ready", v1_ready, model_param)}};
  paths["/v1/models"] = {{"get", get_op("KServe v1 model list: {\"models\": [name]}", "kserve_v1_models",
                                        {{"200", ok("The served model", {{"type", "object"}})}})}};
  json meta_responses = errors({404});
  meta_responses["200"] = ok("Model metadata", {{"type", "object"}});
  paths["/v2/models/{model}"] = {{"get", get_op("KServe v2 model metadata", "kserve_model_metadata", meta_responses, model_param)}};
  json model_ready = errors({404, 503});
  model_ready["200"] = ok("Model ready", {{"type", "object"}});
  paths["/v2/models/{model}/ready"] = {{"get", get_op("KServe v2 model readiness", "kserve_model_ready", model_ready, model_param)}};
  paths["/v2"] = {{"get", get_op("KServe v2 server metadata", "kserve_server_metadata", {{"200", ok("Server metadata", {{"type", "object"}})}})}};
  paths["/v2/health/live"] = {{"get", get_op("KServe v2 liveness", "kserve_live", {{"200", ok("Live", ref("Status"))}})}};
  json ready = errors({503});
  ready["200"] = ok("Ready", ref("Status"));
  paths["/v2/health/ready"] = {{"get", get_op("KServe v2 readiness", "kserve_ready", ready)}};
  paths["/health"] = {{"get", get_op("Health: 200 while serving, 503 while shutting down", "health", ready)}};
  paths["/info"] = {{"get", get_op("Model and server information", "info", {{"200", ok("Information", ref("Info"))}})}};
  paths["/metrics"] = {{"get", get_op("Prometheus metrics", "metrics",
                                      {{"200", {{"description", "Prometheus text exposition format"},
                                                {"content", {{"text/plain", {{"schema", {{"type", "string"}}}}}}}}}})}};
  paths["/"] = {{"get", get_op("The web playground: an HTML page that classifies text as you type (404 with --no-ui)",
                               "playground",
                               {{"200", {{"description", "HTML page"},
                                         {"content", {{"text/html", {{"schema", {{"type", "string"}}}}}}}}},
                                {"404", error_response("senti serve --no-ui")}})},
                {"post",
                 {{"summary", "Classify texts: the same as POST /predict, at the base URL where Hugging Face clients "
                              "(InferenceClient(model=url).text_classification) post"},
                  {"operationId", "predict_root"},
                  {"requestBody", {{"required", true}, {"content", json_content(ref("PredictRequest"))}}},
                  {"responses", tei_responses}}}};
  paths["/openapi.json"] = {{"get", get_op("This document", "openapi", {{"200", ok("OpenAPI 3 document", {{"type", "object"}})}})}};
  return {{"openapi", "3.0.3"},
          {"info",
           {{"title", "senti"},
            {"version", version},
            {"description", "BERT text classification service. Errors are {\"error\", \"error_type\"}."},
            {"license", {{"name", "see the senti repository"}}}}},
          {"paths", paths},
          {"components", {{"schemas", schemas()}}}};
}

}  // namespace senti::serving
