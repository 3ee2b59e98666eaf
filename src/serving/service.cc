// Service: routing, admission (429), the prediction pipeline (validate, tokenize, queue in the batcher,
// answer on the connection's executor with timing headers), error answers and their log lines.
#include "serving/service.h"

#include <algorithm>
#include <exception>
#include <limits>
#include <mutex>
#include <numeric>
#include <thread>
#include <utility>

#include "senti/error.h"
#include "senti/text_rules.h"
#include "serving/content_encoding.h"
#include "serving/http_util.h"
#include "serving/logging.h"
#include "serving/service_detail.h"
#include "serving/ui.h"

namespace senti::serving {

using nlohmann::json;
using namespace detail;  // NOLINT: this file implements Service with its helpers

namespace {

// Which endpoint a path is, for metrics labels (bounded: never the raw path).
std::string endpoint_of(std::string_view path) {
  static const std::vector<std::string_view> fixed = {"/", "/predict", "/health", "/info", "/metrics", "/openapi.json",
                                                      "/v2", "/v2/health/live", "/v2/health/ready"};
  for (const auto f : fixed)
    if (path == f) return std::string(f);
  if (path.starts_with("/v1/models")) {
    if (path.ends_with(":predict")) return "/v1/models/predict";
    if (path.ends_with(":explain")) return "/v1/models/explain";
    return "/v1/models";
  }
  if (path.starts_with("/v2/models/")) {
    if (path.ends_with("/infer")) return "/v2/models/infer";
    if (path.ends_with("/ready")) return "/v2/models/ready";
    return "/v2/models";
  }
  return "other";
}

}  // namespace

std::string dump_json(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }
std::string dump_json(const nlohmann::ordered_json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

struct Service::Call {
  Clock::time_point start = Clock::now();
  std::string method;
  std::string path;
  std::string endpoint;
  Responder respond;
  Post post;
  bool admitted = false;
  bool done = false;
};

Service::Service(const Classifier& classifier, Batcher& batcher, Metrics& metrics, ServiceSettings settings)
    : classifier_(classifier),
      tokenizer_(classifier.tokenizer()),
      config_(classifier.config()),
      max_length_(classifier.max_length()),
      backend_(classifier.backend_name()),
      batcher_(batcher),
      metrics_(metrics),
      settings_(std::move(settings)) {}

long long Service::admit_error_line() {
  const long long second =
      std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
  std::lock_guard lock(log_mutex_);
  if (second != log_window_) {
    log_window_ = second;
    log_lines_in_window_ = 0;
  }
  if (log_lines_in_window_ >= kErrorLinesPerSecond) {
    ++suppressed_lines_;
    return -1;
  }
  ++log_lines_in_window_;
  return std::exchange(suppressed_lines_, 0);
}

HttpResponse Service::transport_error(int status, std::string_view message, std::string_view type,
                                      std::string_view endpoint) {
  metrics_.count_request(endpoint, status, type, 0);
  if (const long long suppressed = admit_error_line(); suppressed >= 0) {
    json fields = {{"status", status}, {"error", std::string(message)}, {"error_type", std::string(type)}};
    if (suppressed > 0) fields["suppressed_before"] = suppressed;
    log_event(spdlog::level::warn, "request rejected", fields);
  }
  HttpResponse r;
  r.status = status;
  r.body = error_body(message, type);
  return r;
}

void Service::finish(const std::shared_ptr<Call>& call, HttpResponse response, std::string_view outcome) {
  if (call->done) return;
  call->done = true;
  const double ms = ms_since(call->start);
  if (call->admitted) {
    --in_flight_;
    --metrics_.in_flight;
  }
  metrics_.count_request(call->endpoint, response.status, outcome, ms / 1000.0);
  if (response.status >= 400) {
    if (const long long suppressed = admit_error_line(); suppressed >= 0) {
      const json body = json::parse(response.body, nullptr, false);
      json fields = {{"method", call->method},
                     {"path", call->path},
                     {"status", response.status},
                     {"error_type", std::string(outcome)},
                     {"error", body.is_object() ? body.value("error", "") : ""},
                     {"ms", ms}};
      if (suppressed > 0) fields["suppressed_before"] = suppressed;
      log_event(response.status >= 500 ? spdlog::level::err : spdlog::level::warn, "request failed", fields);
    }
  }
  try {
    call->respond(std::move(response));
  } catch (...) {
    // The connection is gone; nothing else to do.
  }
}

void Service::fail(const std::shared_ptr<Call>& call, int status, std::string_view message, std::string_view type) {
  HttpResponse r;
  r.status = status;
  r.body = error_body(message, type);
  finish(call, std::move(r), type);
}

void Service::handle(HttpRequest request, Responder respond, Post post) {
  auto call = std::make_shared<Call>();
  call->method = request.method;
  call->respond = std::move(respond);
  call->post = std::move(post);
  try {
    const Target target = split_target(request.target);
    call->path = std::string(target.path);
    call->endpoint = request.endpoint.empty() ? endpoint_of(target.path) : request.endpoint;
    if (!request.content_encoding.empty()) {
      DecodedBody decoded = decode_content(request.content_encoding, std::move(request.body), settings_.payload_limit);
      switch (decoded.status) {
        case DecodedBody::Status::kOk:
          break;
        case DecodedBody::Status::kUnsupported:
          reject(415, "unsupported Content-Encoding \"" + excerpt(request.content_encoding, 64) +
                          "\" (gzip, deflate and identity are supported)");
        case DecodedBody::Status::kTooLarge:
          reject(413, "the decoded body is over the limit of " + std::to_string(settings_.payload_limit) +
                          " bytes (--payload-limit)");
        case DecodedBody::Status::kCorrupt:
          reject(400, "the body is not valid " + excerpt(request.content_encoding, 64) + " data");
      }
      request.body = std::move(decoded.body);
    }
    route(call, request);
  } catch (const RequestError& e) {
    fail(call, e.status, e.message, e.type);
  } catch (const EmptyTextError& e) {
    fail(call, 422, e.what(), "validation");
  } catch (const AnalysisTooLargeError& e) {
    fail(call, 422, e.what(), "validation");
  } catch (const InvalidInputError& e) {
    fail(call, 400, e.what(), "validation");
  } catch (const nlohmann::json::exception& e) {
    // A JSON value of an unexpected type that a decoder did not check: the client's mistake.
    fail(call, 400, std::string("wrong JSON type in the request: ") + excerpt(e.what()), "validation");
  } catch (const std::exception& e) {
    fail(call, 500, std::string("internal error: ") + e.what(), "backend");
  } catch (...) {
    fail(call, 500, "internal error", "backend");
  }
}

void Service::route(const std::shared_ptr<Call>& call, const HttpRequest& request) {
  const Target target = split_target(request.target);
  const std::string_view path = target.path;
  const std::string& method = request.method;
  auto allow = [&](std::string_view allowed) { require_method(method, allowed, path); };
  const std::string models_prefix = "/v2/models/";

  if (path == "/predict") {
    if (method == "GET" || method == "HEAD") return predict_get(call, target.query);
    if (method == "POST") return predict_tei(call, request);
    throw RequestError{405, "method " + excerpt(method, 32) + " is not allowed on /predict; use GET or POST", "method_not_allowed"};
  }
  if (path == "/health" || path == "/v2/health/live" || path == "/v2/health/ready") {
    allow("GET");
    const bool live_only = path == "/v2/health/live";
    if (draining_ && !live_only) return fail(call, 503, "the server is shutting down", "unhealthy");
    return finish(call, json_response(200, {{"status", "ok"}}), "success");
  }
  if (path == "/") {
    // POST /: what Hugging Face clients send to a TEI base URL (InferenceClient(model=url)).
    if (method == "POST") return predict_tei(call, request);
    if (settings_.ui) {
      if (method != "GET" && method != "HEAD")
        throw RequestError{405, "method " + excerpt(method, 32) + " is not allowed on /; use GET or POST",
                           "method_not_allowed"};
      return finish(call, playground_response(), "success");
    }
  }
  if (path == "/v1/models" || path.starts_with("/v1/models/")) return kserve_v1(call, request, path);
  if (path == "/info") {
    allow("GET");
    return finish(call, json_response(200, info()), "success");
  }
  if (path == "/metrics") {
    allow("GET");
    HttpResponse r;
    r.body = metrics_.render();
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return finish(call, std::move(r), "success");
  }
  if (path == "/openapi.json") {
    allow("GET");
    return finish(call, json_response(200, openapi()), "success");
  }
  if (path == "/v2") {
    allow("GET");
    return finish(call, json_response(200, {{"name", "senti"}, {"version", settings_.version}, {"extensions", json::array()}}),
                  "success");
  }
  if (path.starts_with(models_prefix)) {
    std::string_view rest = path.substr(models_prefix.size());
    std::string_view action;
    if (const std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
      action = rest.substr(slash + 1);
      rest = rest.substr(0, slash);
    }
    auto decoded = percent_decode(rest, false);
    if (!decoded || *decoded != settings_.model_name)
      throw RequestError{404, "model \"" + excerpt(rest) + "\" not found; this server serves \"" +
                                  settings_.model_name + "\"", "not_found"};
    // Optional /versions/{v} segment: the model has one version, "1".
    if (action.starts_with("versions/")) {
      std::string_view v = action.substr(9);
      const std::size_t slash = v.find('/');
      const std::string_view version = v.substr(0, slash);
      if (version != "1") throw RequestError{404, "model version \"" + excerpt(version) + "\" not found", "not_found"};
      action = slash == std::string_view::npos ? std::string_view{} : v.substr(slash + 1);
    }
    if (action.empty()) {
      allow("GET");
      return finish(call, json_response(200, kserve_model_metadata()), "success");
    }
    if (action == "ready") {
      allow("GET");
      if (draining_) return fail(call, 503, "the server is shutting down", "unhealthy");
      return finish(call, json_response(200, {{"name", settings_.model_name}, {"ready", true}}), "success");
    }
    if (action == "infer") {
      allow("POST");
      return kserve_infer(call, request);
    }
  }
  throw RequestError{404, "no such endpoint: " + excerpt(path) + " (see /openapi.json)", "not_found"};
}

bool Service::admit(const std::shared_ptr<Call>& call) {
  const std::size_t before = in_flight_.fetch_add(1);
  if (before >= settings_.max_concurrent_requests) {
    --in_flight_;
    fail(call, 429,
         "model is overloaded: " + std::to_string(settings_.max_concurrent_requests) +
             " requests are already in flight (--max-concurrent-requests)",
         "overloaded");
    return false;
  }
  call->admitted = true;
  ++metrics_.in_flight;
  return true;
}

std::size_t Service::check_texts(const std::vector<TextInput>& inputs) {
  std::size_t characters = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string where = where_of(inputs.size(), i);
    for (const std::string* s : {&inputs[i].text, inputs[i].pair ? &*inputs[i].pair : nullptr}) {
      if (s == nullptr) continue;
      if (!is_valid_utf8(*s)) reject(400, "the text is not valid UTF-8" + where);
      if (s->empty()) reject(422, "the text is empty" + where);
      characters += s->size();
    }
  }
  return characters;
}

Encoding Service::encode_input(const TextInput& input, bool truncate, std::size_t i, std::size_t n) const {
  std::optional<std::string_view> pair;
  if (input.pair) pair = *input.pair;
  try {
    if (truncate) return encode_nonempty(tokenizer_, input.text, pair, max_length_);
    // Untruncated length first, to say how long it is.
    Encoding full = encode_nonempty(tokenizer_, input.text, pair, std::numeric_limits<std::size_t>::max() / 2);
    if (full.input_ids.size() > max_length_)
      reject(422, "input" + (n > 1 ? " " + std::to_string(i) : std::string()) + " is " +
                      std::to_string(full.input_ids.size()) + " tokens long, over the model maximum of " +
                      std::to_string(max_length_) + "; send \"truncate\": true to truncate it");
    return full;
  } catch (const EmptyTextError&) {
    reject(422, "the text is empty" + where_of(n, i) + " (no tokens after text cleaning)");
  }
}

void Service::predict(const std::shared_ptr<Call>& call, std::vector<TextInput> inputs, bool truncate, Render render) {
  // Validate every text before taking a slot.
  const std::size_t characters = check_texts(inputs);
  if (!admit(call)) return;

  const auto tokenize_start = Clock::now();
  std::vector<Encoding> encodings;
  encodings.reserve(inputs.size());
  try {
    for (std::size_t i = 0; i < inputs.size(); ++i) encodings.push_back(encode_input(inputs[i], truncate, i, inputs.size()));
  } catch (const RequestError& e) {
    return fail(call, e.status, e.message, e.type);
  } catch (const InvalidInputError& e) {
    return fail(call, 400, e.what(), "validation");
  }
  Timing timing;
  timing.tokenization_ms = ms_since(tokenize_start);
  timing.characters = characters;
  metrics_.observe_tokenization(timing.tokenization_ms / 1000.0);
  metrics_.observe_texts(encodings.size());
  run(call, std::move(encodings), Priority::high, timing, std::move(render));
}

void Service::run(const std::shared_ptr<Call>& call, std::vector<Encoding> encodings, Priority priority, Timing timing,
                  Render render) {
  struct Pending {
    std::mutex mutex;
    std::vector<ItemResult> results;
    std::size_t remaining = 0;
    bool in_submit = false;      // run() is still submitting (set and cleared on its thread)
    bool complete_here = false;  // the last result came on the submitting thread, inside submit
  };
  auto pending = std::make_shared<Pending>();
  pending->results.resize(encodings.size());
  pending->remaining = encodings.size();
  timing.tokens = 0;
  for (const auto& e : encodings) timing.tokens += e.input_ids.size();

  auto complete = [this, call, pending, render = std::move(render), timing]() mutable {
    std::vector<Prediction> predictions;
    predictions.reserve(pending->results.size());
    std::string error;
    for (auto& r : pending->results) {
      timing.queue_ms = std::max(timing.queue_ms, r.queue_ms);
      timing.inference_ms = std::max(timing.inference_ms, r.inference_ms);
      timing.batch_size = std::max(timing.batch_size, r.batch_size);
      if (!r.ok && error.empty()) error = r.error.empty() ? "inference failed" : r.error;
      predictions.push_back(std::move(r.prediction));
    }
    pending->results.clear();
    timing.total_ms = ms_since(call->start);
    if (!error.empty()) {
      if (draining_) return fail(call, 503, error, "unhealthy");
      return fail(call, 500, "inference failed: " + error, "backend");
    }
    HttpResponse response;
    try {
      response = render(predictions, timing);
    } catch (const std::exception& e) {
      return fail(call, 500, std::string("cannot render the answer: ") + e.what(), "backend");
    }
    response.headers.emplace_back("x-total-time", format_ms(timing.total_ms));
    response.headers.emplace_back("x-tokenization-time", format_ms(timing.tokenization_ms));
    response.headers.emplace_back("x-queue-time", format_ms(timing.queue_ms));
    response.headers.emplace_back("x-inference-time", format_ms(timing.inference_ms));
    response.headers.emplace_back("x-compute-tokens", std::to_string(timing.tokens));
    response.headers.emplace_back("x-compute-characters", std::to_string(timing.characters));
    response.headers.emplace_back("x-batch-size", std::to_string(timing.batch_size));
    finish(call, std::move(response), "success");
  };
  auto shared_complete = std::make_shared<decltype(complete)>(std::move(complete));

  // The last result may come on this thread, inside submit (a lone request run inline, or a stopped
  // batcher): the answer is then rendered right after the loop, here on the call's executor, instead of
  // being posted back to it: with more than one network thread a post wakes an idle one, whose wake-up
  // the client would wait for (tens of µs on a virtual machine), for an answer that is ready here.
  const auto submitting = std::this_thread::get_id();
  pending->in_submit = true;  // before any submit: nothing can call back yet
  for (std::size_t i = 0; i < encodings.size(); ++i) {
    batcher_.submit(
        std::move(encodings[i]),
        [this, pending, i, call, shared_complete, submitting](ItemResult&& result) {
          metrics_.observe_queue(result.queue_ms / 1000.0);
          bool last = false;
          {
            std::lock_guard lock(pending->mutex);
            pending->results[i] = std::move(result);
            last = --pending->remaining == 0;
            if (last && pending->in_submit && std::this_thread::get_id() == submitting) {
              pending->complete_here = true;
              return;
            }
          }
          if (last) call->post([shared_complete] { (*shared_complete)(); });
        },
        priority, encodings.size() == 1);
  }
  bool complete_here = false;
  {
    std::lock_guard lock(pending->mutex);
    pending->in_submit = false;  // a result that comes on this thread from now on (a drain) is posted
    complete_here = pending->complete_here;
  }
  if (complete_here) (*shared_complete)();
}

json Service::info() const {
  json labels = json::array();
  for (std::size_t i = 0; i < config_.labels.size(); ++i) {
    const std::string display = i < config_.label_display.size() ? config_.label_display[i] : config_.labels[i];
    labels.push_back({{"id", i}, {"label", config_.labels[i]}, {"display", display}});
  }
  return {{"model", settings_.model_name},
          {"model_type", "bert"},
          {"labels", labels},
          {"max_input_length", max_length_},
          {"precision", settings_.precision},
          {"backend", backend_},
          {"version", settings_.version},
          {"max_concurrent_requests", settings_.max_concurrent_requests},
          {"max_client_batch_size", settings_.max_client_batch_size},
          {"payload_limit", settings_.payload_limit},
          {"max_analysis_tokens", settings_.max_analysis_tokens},
          {"max_batch_tokens", settings_.batch.max_batch_tokens},
          {"max_batch_requests", settings_.batch.max_batch_requests},
          {"max_batch_delay_us", settings_.batch.max_batch_delay.count()},
          {"inline_when_idle", settings_.batch.inline_when_idle()}};
}

json Service::openapi() const { return openapi_document(settings_.version, settings_.model_name); }

}  // namespace senti::serving
