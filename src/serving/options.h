// Settings of `senti serve`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace senti::serving {

struct ServeOptions {
  std::filesystem::path model_dir;
  std::string host = "127.0.0.1";
  std::uint16_t port = 8888;  // 0: any free port (the start log line names it)
  std::size_t max_batch_tokens = 8192;
  std::size_t max_batch_requests = 64;
  std::int64_t max_batch_delay_us = 0;
  std::size_t max_concurrent_requests = 512;
  std::size_t max_client_batch_size = 32;
  std::size_t payload_limit = 2000000;
  std::size_t max_length = 0;  // 0: the model's
  int threads = 0;             // engine compute threads, 0: all cores
  std::string precision = "auto";
  int io_threads = 0;          // network/tokenization threads, 0: automatic
  std::string log_format = "text";
  int summary_interval_s = 60;
  int read_timeout_s = 30;     // per request read, idle keep-alive included
  int write_timeout_s = 30;
  int drain_timeout_s = 30;    // SIGTERM: longest wait for in-flight requests
  bool ui = true;              // GET /: the web playground
  std::string version;
};

// Loads the model, serves until SIGTERM/SIGINT, drains in-flight requests. Returns the exit status.
int run_server(const ServeOptions& options);

}  // namespace senti::serving
