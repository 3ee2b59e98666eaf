// Settings of `senti serve`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "senti/classifier.h"
#include "serving/batcher.h"
#include "serving/service.h"

namespace senti::serving {

struct ServeOptions {
  std::filesystem::path model_dir;
  std::string host = "127.0.0.1";
  std::uint16_t port = 8888;  // 0: any free port (the start log line names it)
  int grpc_port = -1;         // the KServe v2 gRPC endpoint; -1: off, 0: any free port ("grpc_port" in the start line)
  std::size_t max_batch_tokens = 0;    // 0: 8192 on the CPU, 16384 on CUDA (the GPU wants bigger batches)
  std::size_t max_batch_requests = 0;  // 0: 64 on the CPU, 256 on CUDA
  std::int64_t max_batch_delay_us = 0;
  // Every batch on the engine thread (else a lone request that finds the engine idle runs on its
  // network thread: BatchOptions::run_inline_when_idle).
  bool engine_thread_only = false;
  std::size_t max_concurrent_requests = 512;
  std::size_t max_client_batch_size = 32;
  std::size_t payload_limit = 2000000;
  std::size_t max_analysis_tokens = 131072;  // model work of one explain/sentence/chunk request (422 over it)
  std::size_t max_length = 0;  // 0: the model's
  int threads = 0;             // engine compute threads, 0: all cores
  std::string precision = "auto";
  std::string device = "auto";  // cpu | cuda | auto
  int io_threads = 0;          // network/tokenization threads, 0: automatic
  std::string log_format = "text";
  int summary_interval_s = 60;
  int read_timeout_s = 30;     // per request read, idle keep-alive included
  int write_timeout_s = 30;
  int drain_timeout_s = 30;    // SIGTERM: longest wait for in-flight requests
  bool ui = true;              // GET /: the web playground
  std::string version;
};

// The parts of the serving stack as `senti serve` sets them up from its options.
ClassifierOptions classifier_options_of(const ServeOptions& options);
BatchOptions batch_options_of(const ServeOptions& options, const Classifier& classifier);
ServiceSettings service_settings_of(const ServeOptions& options, const Classifier& classifier);

// Loads the model, serves until SIGTERM/SIGINT, drains in-flight requests. Returns the exit status.
int run_server(const ServeOptions& options);

}  // namespace senti::serving
