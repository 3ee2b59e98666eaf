// Helpers shared by the files that implement Service (service.cc, service_analysis.cc, endpoints.cc, kserve_v1.cc,
// kserve_binary.cc, analysis_answers.cc).
// Not a public header.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "senti/text_rules.h"
#include "serving/service.h"

namespace senti::serving::detail {

using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// A request that cannot be served, raised while reading it and turned into an error response.
struct RequestError {
  int status;
  std::string message;
  std::string type = "validation";
};

[[noreturn]] inline void reject(int status, std::string message) { throw RequestError{status, std::move(message)}; }

// 405 unless the method is `allowed` (HEAD counts as GET).
inline void require_method(std::string_view method, std::string_view allowed, std::string_view path) {
  if (method == allowed || (allowed == "GET" && method == "HEAD")) return;
  throw RequestError{405, "method " + excerpt(method, 32) + " is not allowed on " + excerpt(path) + "; use " +
                              std::string(allowed), "method_not_allowed"};
}

inline HttpResponse json_response(int status, const nlohmann::json& body) {
  HttpResponse r;
  r.status = status;
  r.body = dump_json(body);
  return r;
}

// " (input i)" for batches, "" for a single text: where an error message points.
inline std::string where_of(std::size_t inputs, std::size_t i) {
  return inputs > 1 ? " (input " + std::to_string(i) + ")" : "";
}

// The same for a body whose keys keep their insertion order (the analysis answers).
inline HttpResponse ordered_json_response(int status, const nlohmann::ordered_json& body) {
  HttpResponse r;
  r.status = status;
  r.body = dump_json(body);
  return r;
}

inline std::string format_ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", ms);
  return buf;
}

}  // namespace senti::serving::detail
