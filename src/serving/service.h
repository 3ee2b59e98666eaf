// The HTTP API of `senti serve`, independent of the network layer: the server hands each parsed request
// to Service::handle with a way to answer it. Endpoints:
//   GET  /predict?text=...            seed-compatible: {"text","sentiment","label","score","latency_ms"}
//   POST /predict                     TEI-compatible: {"inputs": str | [str | [str] | [str, str]], "raw_scores", "truncate"}
//   POST /v2/models/{name}/infer      KServe v2 / Open Inference Protocol (BYTES "text" in, "label" + "scores" out)
//                                     with the binary tensor extension (Inference-Header-Content-Length; kserve_binary.h)
//   GET  /v2, /v2/health/live, /v2/health/ready, /v2/models/{name}, /v2/models/{name}/ready
//   POST /v1/models/{name}:predict    KServe v1: {"instances": [text...]} -> {"predictions": [{"label","score","scores"}...]}
//   POST /v1/models/{name}:explain    KServe v1 explain: :predict with explain=true -> {"explanations": [...]}
//   GET  /v1/models, /v1/models/{name} KServe v1 model list and readiness
//   GET  /health, /info, /metrics, /openapi.json
//   GET  /                            the web playground (HTML; 404 with --no-ui)
//   POST /                            the same as POST /predict: a TEI base URL, as huggingface_hub's InferenceClient
//                                     posts {"inputs", "parameters": {"top_k", "function_to_apply", "truncate"}}
// The gRPC endpoint (serving/grpc, --grpc-port) hands each call here as the equivalent KServe v2 HTTP
// request, with HttpRequest::endpoint naming the gRPC method for the metrics.
//
// "Why and where" (analysis_answers.h has the vocabulary, senti/analysis.h the rules): every prediction
// API takes explain (true/false), granularity ("text"/"sentence") and long_text ("truncate"/"chunk") and
// answers "explanation", "sentences" and "chunks" for each input:
//   GET /predict                 query parameters; the fields are added to the seed object
//   POST /predict, POST /        in "parameters" (or top-level, like TEI's own options); each input's answer
//                                becomes {"predictions": <its usual ranking>, "explanation", "sentences",
//                                "chunks"} (a single string input: one object, a list: a list of them)
//   POST /v2/models/{name}/infer request "parameters"; output tensors "explanation" and "sentences" (BYTES [N],
//                                each element the JSON array of that input) and "chunks" (INT64 [N]); also gRPC
//                                (ModelInferRequest.parameters); they can be named in "outputs" only when asked for
//   POST /v1/models/{name}:predict and :explain  request "parameters"; the fields are added to each prediction
// A request that gives none of the three is served exactly as before. One that gives any is planned on the
// network thread (AnalysisPlan) and its sequences queue in the batcher at low priority: a batch takes the
// plain requests' texts first, so they never wait behind analyses. Limits: --max-analysis-tokens of model
// work per request (422 over it), and at most kAnalysisInFlightFactor times that queued or running over all
// requests (429 over it); each analysis request also counts in --max-concurrent-requests.
// Errors are {"error": "...", "error_type": "..."} with:
//   400 validation  the request cannot be read: malformed JSON, JSON nested deeper than 64 levels,
//                   wrong JSON types, missing field, bad %-escape, invalid UTF-8, missing ?text=,
//                   explain/granularity/long_text not one of their values (the message names them),
//                   an analysis output requested without its parameter
//   413 validation  body over --payload-limit (after Content-Encoding gzip/deflate is decoded)
//   415 validation  a Content-Type other than JSON on a JSON endpoint, an unknown Content-Encoding
//   422 validation  understood but not acceptable: empty text (no tokens after text cleaning), empty batch, batch over
//                   --max-client-batch-size, text too long with "truncate": false, shape mismatch, analysis of a
//                   text pair, analysis over --max-analysis-tokens of model work
//   404 not_found, 405 method_not_allowed, 429 overloaded (over --max-concurrent-requests, or too much analysis
//   work in flight), 500 backend (the model failed), 503 unhealthy (shutting down)
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "senti/analysis.h"
#include "senti/classifier.h"
#include "serving/batcher.h"
#include "serving/metrics.h"

namespace senti::serving {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as received
  std::string body;
  std::string content_type;      // the Content-Type header, "" when absent
  std::string content_encoding;  // the Content-Encoding header, "" when absent
  // Inference-Header-Content-Length (KServe v2 binary tensor extension), nullopt when absent.
  std::optional<std::string> inference_header_length;
  std::string endpoint{};        // the metrics label; "" for the path's (the gRPC endpoint names its method)
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

using Responder = std::function<void(HttpResponse)>;
// Runs a function on the connection's executor (where handle runs and respond must be called).
using Post = std::function<void(std::function<void()>)>;

struct ServiceSettings {
  std::string model_name;  // the model folder's name: the KServe model name (no path: /info is public)
  std::string precision;
  std::string version;
  std::size_t max_concurrent_requests = 512;
  std::size_t max_client_batch_size = 32;
  std::size_t payload_limit = 2000000;
  bool ui = true;  // GET /: the web playground (senti serve --no-ui: 404)
  // The most model work (tokens over all sequences) one analysis request may ask for (--max-analysis-tokens).
  std::size_t max_analysis_tokens = 131072;
  BatchOptions batch;
};

struct AnalysisRequest;

class Service {
 public:
  // The classifier's tokenizer is used (const) from the network threads (it also plans analyses there);
  // the model only runs inside the batcher, on the engine thread. The classifier must outlive the service.
  Service(const Classifier& classifier, Batcher& batcher, Metrics& metrics, ServiceSettings settings);

  // Called on the connection's executor. respond is called exactly once, on that executor: directly,
  // or from a function given to post. Never throws.
  void handle(HttpRequest request, Responder respond, Post post);

  // An error answer produced by the network layer itself (body over the limit, unparsable request),
  // counted in the metrics and logged like the others.
  HttpResponse transport_error(int status, std::string_view message, std::string_view type,
                               std::string_view endpoint = "other");

  // Health endpoints answer 503 once draining.
  void set_draining() { draining_ = true; }
  bool draining() const { return draining_; }

  // Analysis work (tokens) queued or running over all requests is capped at this many times
  // --max-analysis-tokens: past it, analysis requests get 429 until some finish.
  static constexpr std::size_t kAnalysisInFlightFactor = 8;

  nlohmann::json info() const;
  nlohmann::json openapi() const;
  const ServiceSettings& settings() const { return settings_; }

 private:
  struct Call;
  struct TextInput {
    std::string text;
    std::optional<std::string> pair;
  };
  struct Timing {
    double total_ms = 0, tokenization_ms = 0, queue_ms = 0, inference_ms = 0;
    std::size_t tokens = 0, characters = 0, batch_size = 0;
  };
  using Render = std::function<HttpResponse(const std::vector<Prediction>&, const Timing&)>;
  using AnalysisRender = std::function<HttpResponse(const std::vector<Analysis>&, const Timing&)>;

  void route(const std::shared_ptr<Call>& call, const HttpRequest& request);
  void predict(const std::shared_ptr<Call>& call, std::vector<TextInput> inputs, bool truncate, Render render);
  // Analysis requests (service_analysis.cc): plans every text, runs the plans' sequences through the
  // batcher at low priority, renders the finished analyses (one per input, in order).
  void analyze(const std::shared_ptr<Call>& call, std::vector<TextInput> inputs, bool truncate,
               const AnalysisRequest& request, AnalysisRender render);
  // Checks the texts (valid UTF-8: 400, empty: 422) before a slot is taken; returns their size in bytes.
  static std::size_t check_texts(const std::vector<TextInput>& inputs);
  // The encoding of input i of n; truncate false: 422 when it is over the model maximum.
  Encoding encode_input(const TextInput& input, bool truncate, std::size_t i, std::size_t n) const;
  // Queues the encodings, waits for all of them, renders the answer on the call's executor with the
  // timing headers (timing carries what was measured before: tokenization, tokens, characters).
  void run(const std::shared_ptr<Call>& call, std::vector<Encoding> encodings, Priority priority, Timing timing,
           Render render);
  void predict_get(const std::shared_ptr<Call>& call, std::string_view query);
  void predict_tei(const std::shared_ptr<Call>& call, const HttpRequest& request);
  void kserve_infer(const std::shared_ptr<Call>& call, const HttpRequest& request);
  // GET /v1/models, GET /v1/models/{name}, POST /v1/models/{name}:predict (kserve_v1.cc).
  void kserve_v1(const std::shared_ptr<Call>& call, const HttpRequest& request, std::string_view path);
  nlohmann::json kserve_model_metadata() const;
  bool admit(const std::shared_ptr<Call>& call);
  // The body of a POST to a JSON endpoint, parsed: checks Content-Type (415), nesting depth and syntax (400).
  static nlohmann::json parse_json_body(const HttpRequest& request);
  // A JSON text of a request: nesting depth and syntax (400).
  static nlohmann::json parse_json_text(std::string_view text);

  void finish(const std::shared_ptr<Call>& call, HttpResponse response, std::string_view outcome);
  void fail(const std::shared_ptr<Call>& call, int status, std::string_view message, std::string_view type);

  const Classifier& classifier_;
  const BertTokenizer& tokenizer_;
  BertConfig config_;
  std::size_t max_length_;
  std::string backend_;
  Batcher& batcher_;
  Metrics& metrics_;
  ServiceSettings settings_;
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<std::size_t> analysis_tokens_in_flight_{0};
  std::atomic<bool> draining_{false};

  // Error log lines are capped per second (an overload storm of 429s must not flood the log); the next
  // line that is written says how many were left out. The summary line counts all errors anyway.
  static constexpr int kErrorLinesPerSecond = 20;
  // Returns -1 when this error must not be logged, else how many were left out before it.
  long long admit_error_line();
  std::mutex log_mutex_;
  long long log_window_ = -1;
  int log_lines_in_window_ = 0;
  long long suppressed_lines_ = 0;
};

// The OpenAPI 3 document served at /openapi.json.
nlohmann::json openapi_document(const std::string& version, const std::string& model_name);

// JSON text with invalid UTF-8 replaced (never throws on strings).
std::string dump_json(const nlohmann::json& j);
std::string dump_json(const nlohmann::ordered_json& j);

}  // namespace senti::serving
