// The serving stack of `senti serve --model tests/data/models/tiny` without sockets (InMemoryServer),
// shared by the HTTP and JSON API fuzzers, and the checks every answer must pass.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "serving/in_memory_http.h"
#include "serving/logging.h"

namespace senti::fuzz {

// Small limits, so that the fuzzer reaches them: a 4 KB body, batches of 4.
inline serving::InMemoryServer& tiny_server() {
  static serving::InMemoryServer* server = [] {
    serving::init_logging("text", spdlog::level::off);  // one log line per rejected input would drown the fuzzer
    serving::ServeOptions options;
    options.model_dir = tiny_model_dir();
    options.threads = 1;
    options.payload_limit = 4096;
    options.max_client_batch_size = 4;
    options.version = "fuzz";
    return new serving::InMemoryServer(options);
  }();
  return *server;
}

// Every answer: a known status other than 500 (an internal error is a bug: bad input must get a 4xx),
// and a JSON body; errors as {"error": non-empty string, "error_type": string}.
inline void check_answer(int status, const std::string& body, const std::string& content_type) {
  if (status == 500) fail("500 answer: " + body.substr(0, 300));
  if (status < 100 || status > 599) fail("status " + std::to_string(status));
  if (content_type != "application/json") return;  // /metrics
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) fail("answer is not JSON: " + body.substr(0, 300));
  if (status >= 400) {
    if (!j.is_object() || !j.contains("error") || !j["error"].is_string() || j["error"].get<std::string>().empty() ||
        !j.contains("error_type") || !j["error_type"].is_string())
      fail("error answer without error/error_type: " + body.substr(0, 300));
  }
}

}  // namespace senti::fuzz
