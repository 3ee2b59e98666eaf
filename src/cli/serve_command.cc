// senti serve: the HTTP inference service (see src/serving/).
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/default_model.h"
#include "serving/options.h"

namespace senti::cli {
namespace {

struct ServeCliOptions {
  std::string model;
  bool no_ui = false;
  serving::ServeOptions serve;
};

}  // namespace

Action add_serve_command(CLI::App& app) {
  auto o = std::make_shared<ServeCliOptions>();
  serving::ServeOptions& s = o->serve;
  CLI::App* cmd = app.add_subcommand("serve", "Serve the model over HTTP (seed, Hugging Face TEI and KServe v2 APIs)");
  cmd->add_option("--model,-m", o->model, "Model folder or file; default: the embedded model");
  cmd->add_option("--host", s.host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port,-p", s.port, "Port (0: any free port, printed in the start log line)")->capture_default_str();
  cmd->add_option("--grpc-port", s.grpc_port,
                  "Also serve the KServe v2 gRPC API (inference.GRPCInferenceService) on this port (0: any free port); "
                  "off unless given")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--precision", s.precision, "fp32, bf16, int8 or auto; fp16 on CUDA")
      ->check(CLI::IsMember({"auto", "fp32", "bf16", "fp16", "int8"}))
      ->capture_default_str();
  add_device_option(cmd, s.device);
  cmd->add_option("--threads", s.threads, "Compute threads of the engine (0: all cores)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--io-threads", s.io_threads, "Network and tokenization threads (0: automatic)")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  cmd->add_option("--max-length", s.max_length, "Truncate texts to this many tokens (0: the model's maximum)")
      ->capture_default_str();
  cmd->add_option("--max-batch-tokens", s.max_batch_tokens, "Token budget of one engine batch (default: 8192 on the CPU, 16384 on CUDA)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 24));
  cmd->add_option("--max-batch-requests", s.max_batch_requests, "Most texts in one engine batch (default: 64 on the CPU, 256 on CUDA)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 16));
  cmd->add_option("--max-batch-delay-us", s.max_batch_delay_us,
                  "Wait up to this long for a fuller batch (0: never wait when the engine is idle)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{10000000}))
      ->capture_default_str();
  cmd->add_flag("--engine-thread-only", s.engine_thread_only,
               "Run every batch on the engine thread (default: a lone request that finds the engine idle runs "
               "on its network thread, two thread hand-offs fewer; the CUDA device always uses the engine thread)");
  cmd->add_option("--max-concurrent-requests", s.max_concurrent_requests,
                  "Prediction requests in flight before answering 429")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
      ->capture_default_str();
  cmd->add_option("--payload-limit", s.payload_limit, "Largest request body in bytes (413 over it)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 30))
      ->capture_default_str();
  cmd->add_option("--max-client-batch-size", s.max_client_batch_size, "Most texts in one request (422 over it)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
      ->capture_default_str();
  cmd->add_option("--max-analysis-tokens", s.max_analysis_tokens,
                  "Most model work (tokens over all sequences) one explain / granularity=sentence / long_text=chunk "
                  "request may need (422 over it); analyses in flight are capped at 8 times this (429)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 30))
      ->capture_default_str();
  cmd->add_option("--log-format", s.log_format, "text or json (one object per line)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_option("--summary-interval", s.summary_interval_s, "Seconds between summary log lines (0: none)")
      ->check(CLI::Range(0, 86400))
      ->capture_default_str();
  cmd->add_option("--read-timeout", s.read_timeout_s, "Seconds to read a request (idle keep-alive included)")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd->add_option("--write-timeout", s.write_timeout_s, "Seconds to write an answer")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd->add_option("--drain-timeout", s.drain_timeout_s, "On SIGTERM/SIGINT, longest wait for in-flight requests")
      ->check(CLI::Range(0, 3600))
      ->capture_default_str();
  cmd->add_flag("--no-ui", o->no_ui, "Do not serve the web playground at GET / (404 instead)");
  return [o] {
    serving::ServeOptions options = o->serve;
    options.ui = !o->no_ui;
    options.model_dir = resolve_model(o->model);
    options.version = SENTI_VERSION;
    return serving::run_server(options);
  };
}

}  // namespace senti::cli
