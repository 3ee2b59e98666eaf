// `senti serve`'s process lifecycle: loads the model, starts the engine (batcher) thread and the network
// threads, logs the start line and a periodic summary, and drains gracefully on SIGTERM/SIGINT.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "senti/classifier.h"
#include "serving/grpc/grpc_server.h"
#include "serving/http_server.h"
#include "serving/logging.h"
#include "serving/metrics.h"
#include "serving/options.h"
#include "serving/service.h"

namespace senti::serving {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// Texts of the lengths serving sees most (5 to 40 tokens), run alone and as one batch.
void warm_up(Classifier& classifier) {
  auto encode = [&classifier](const char* text) {
    return classifier.tokenizer().encode(text, std::nullopt, classifier.max_length());
  };
  classifier.classify(std::vector<Encoding>{encode("这件衣服的质量真的太棒了，非常满意！")});
  classifier.classify(std::vector<Encoding>{encode("还行"), encode("物流很快，包装也很好，下次还会再来买。"),
                                            encode("质量一般，和图片上的颜色差得有点多，客服的态度倒是不错，"
                                                   "退换货也很方便，总体来说还可以接受吧。"),
                                            encode("不推荐")});
}

void log_summary(const Metrics& metrics, MetricsTotals& last, Batcher& batcher, int interval_s) {
  const MetricsTotals now = metrics.totals();
  const auto requests = now.requests - last.requests;
  const auto batches = now.batches - last.batches;
  nlohmann::json fields = {{"interval_s", interval_s},
                           {"requests", requests},
                           {"errors", now.errors - last.errors},
                           {"texts", now.texts - last.texts},
                           {"batches", batches},
                           {"queue_depth", batcher.queue_depth()},
                           {"in_flight", metrics.in_flight.load()}};
  if (requests > 0)
    fields["mean_latency_ms"] = 1000.0 * (now.request_seconds - last.request_seconds) / static_cast<double>(requests);
  if (batches > 0) fields["mean_batch_size"] = (now.batch_items - last.batch_items) / static_cast<double>(batches);
  log_event(spdlog::level::info, "summary", fields);
  last = now;
}

std::string model_name_of(const std::filesystem::path& path) {
  std::filesystem::path p = path;
  if (p.filename().empty()) p = p.parent_path();
  std::string name = std::filesystem::is_directory(p) ? p.filename().string() : p.stem().string();
  return name.empty() ? "model" : name;
}

// Runs the io_context until it is stopped. An exception a handler lets out (a bug, or a library that
// throws where it should report an error) must not end the process: it is logged, and run() goes on.
// The handler that threw is destroyed while unwinding, and with it its hold on the connection, which
// therefore closes; every other connection carries on.
void run_io(asio::io_context& io) {
  for (;;) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {
      log_event(spdlog::level::err, "connection handler failed; connection closed", {{"error", e.what()}});
    } catch (...) {
      log_event(spdlog::level::err, "connection handler failed; connection closed", {{"error", "unknown exception"}});
    }
  }
}

}  // namespace

ClassifierOptions classifier_options_of(const ServeOptions& options) {
  ClassifierOptions classifier_options;
  classifier_options.max_length = options.max_length;
  classifier_options.num_threads = options.threads;
  classifier_options.precision = options.precision;
  classifier_options.device = options.device;
  return classifier_options;
}

BatchOptions batch_options_of(const ServeOptions& options, const Classifier& classifier) {
  BatchOptions batch_options;
  // Unset (0) limits default by device: a GPU wants larger batches than the CPU.
  const bool gpu = classifier.device() == "cuda";
  batch_options.max_batch_tokens = options.max_batch_tokens > 0 ? options.max_batch_tokens : gpu ? 16384 : 8192;
  batch_options.max_batch_requests = options.max_batch_requests > 0 ? options.max_batch_requests : gpu ? 256 : 64;
  batch_options.max_batch_delay = std::chrono::microseconds(options.max_batch_delay_us);
  // The CUDA backend keeps the engine thread (its streams and graphs were made there; not measured
  // otherwise: no GPU where inline runs were written).
  // Also at more than one compute thread. Tried on 2 cores (2 threads) while the parallel loops were
  // OpenMP's: the engine thread for every forward (one OpenMP team left, whose worker then spun instead
  // of sleeping at every parallel region) made serial keep-alive requests faster, but requests a few
  // hundred ms apart took 1-22 ms instead of 0.4-0.8: the worker spun ~3 ms after each forward on the
  // core the network thread was woken on. Since the loops run on senti's pool (runtime/cpu/compute_pool.h),
  // whose workers poll only during a forward, inline forwards no longer pay a wake-up per region: rbt3
  // int8 wrk -c1 p50 2.44 -> 2.21-2.27 ms (2.14-2.20 in-process), the default model 0.65 -> 0.47 ms.
  batch_options.run_inline_when_idle = !gpu && !options.engine_thread_only;
  return batch_options;
}

ServiceSettings service_settings_of(const ServeOptions& options, const Classifier& classifier) {
  ServiceSettings settings;
  settings.model_name = model_name_of(options.model_dir);
  settings.precision = classifier.precision();
  settings.version = options.version;
  settings.max_concurrent_requests = options.max_concurrent_requests;
  settings.max_client_batch_size = options.max_client_batch_size;
  settings.payload_limit = options.payload_limit;
  settings.max_analysis_tokens = options.max_analysis_tokens;
  settings.ui = options.ui;
  settings.batch = batch_options_of(options, classifier);
  return settings;
}

int run_server(const ServeOptions& options) {
  // A closed stdout/stderr (`senti serve 2>&1 | head -1`) or a client gone mid-write must give EPIPE,
  // not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  init_logging(options.log_format);
  if (options.grpc_port >= 0 && !GrpcServer::available()) {
    log_event(spdlog::level::err, "cannot start",
              {{"error", "--grpc-port: this senti was built without gRPC (the packages libgrpc++-dev, protobuf-compiler-grpc, "
                         "libprotobuf-dev and protobuf-compiler were missing when it was configured; scripts/setup installs them)"}});
    return 1;
  }
  const auto load_start = std::chrono::steady_clock::now();
  Classifier classifier = Classifier::load(options.model_dir, classifier_options_of(options));

  Metrics metrics;
  Batcher batcher(
      batch_options_of(options, classifier), [&classifier](const std::vector<Encoding>& encodings) { return classifier.classify(encodings); },
      [&metrics](const BatchStats& stats) {
        metrics.observe_batch(stats.items, stats.tokens);
        metrics.observe_inference(stats.inference_ms / 1000.0);
      });
  metrics.queue_depth = [&batcher] { return batcher.queue_depth(); };
  // The engine thread starts with a warm-up (one text alone, then a small batch), so the first client
  // does not pay for the engine's lazy set-up: the compute pool's workers, scratch buffers, first touch.
  batcher.start([&classifier] { warm_up(classifier); });
  const double load_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count();

  const ServiceSettings settings = service_settings_of(options, classifier);
  Service service(classifier, batcher, metrics, settings);

  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  const int io_threads = options.io_threads > 0 ? options.io_threads : static_cast<int>(std::clamp(hw / 4, 2u, 8u));
  asio::io_context io(io_threads);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  HttpServer server(io, service, options);
  // The gRPC endpoint (--grpc-port) in front of the same service: same batcher, limits, metrics, drain.
  GrpcServer grpc(service);
  tcp::endpoint bound;
  int grpc_port = -1;
  try {
    bound = server.listen();
    if (options.grpc_port >= 0) grpc_port = grpc.start(options.host, static_cast<std::uint16_t>(options.grpc_port));
  } catch (const std::exception& e) {
    log_event(spdlog::level::err, "cannot start", {{"error", e.what()}});
    return 1;
  }
  server.accept();

  nlohmann::json start_fields = {{"address", bound.address().to_string() + ":" + std::to_string(bound.port())},
             {"port", bound.port()},
             {"model", settings.model_name},
             {"model_path", options.model_dir.string()},
             {"labels", classifier.config().labels},
             {"max_length", classifier.max_length()},
             {"precision", settings.precision},
             {"precision_choice", classifier.precision_choice()},
             {"backend", classifier.backend_name()},
             {"device", classifier.device()},
             {"io_threads", io_threads},
             {"inline_when_idle", settings.batch.inline_when_idle()},
             {"load_ms", load_ms},
             {"version", options.version}};
  if (grpc_port >= 0) start_fields["grpc_port"] = grpc_port;
  log_event(spdlog::level::info, "senti serve listening", start_fields);

  MetricsTotals last_totals;
  asio::steady_timer summary(io);
  std::function<void()> schedule_summary = [&] {
    summary.expires_after(std::chrono::seconds(std::max(1, options.summary_interval_s)));
    summary.async_wait([&](error_code ec) {
      if (ec) return;
      log_summary(metrics, last_totals, batcher, options.summary_interval_s);
      schedule_summary();
    });
  };
  if (options.summary_interval_s > 0) schedule_summary();

  // Drain: stop accepting, let in-flight requests finish (up to --drain-timeout). At the deadline the
  // texts still queued are answered 503 and dropped; their answers get a moment to be written, then
  // the remaining connections are closed.
  asio::steady_timer drain_timer(io);
  std::chrono::steady_clock::time_point drain_deadline;
  bool queue_dropped = false;
  constexpr auto kAnswerGrace = std::chrono::milliseconds(500);
  std::function<void()> poll_drain = [&] {
    drain_timer.expires_after(std::chrono::milliseconds(20));
    drain_timer.async_wait([&](error_code ec) {
      if (ec) return;
      // grpc.drained(): its Shutdown has answered every call it received (active() misses calls not yet
      // in a handler, which a stop now would cancel).
      if (server.sessions() == 0 && grpc.active() == 0 && grpc.drained()) return io.stop();
      const auto now = std::chrono::steady_clock::now();
      if (now > drain_deadline && !queue_dropped) {
        queue_dropped = true;
        const std::size_t dropped = batcher.cancel_queued();
        log_event(spdlog::level::warn, "drain timeout: queued texts answered 503, closing the remaining connections",
                  {{"connections", server.sessions()}, {"grpc_calls", grpc.active()}, {"dropped_texts", dropped}});
      }
      if (now > drain_deadline + kAnswerGrace) return io.stop();
      poll_drain();
    });
  };
  std::atomic<int> exit_signal{0};
  signals.async_wait([&](error_code ec, int signal) {
    if (ec) return;
    exit_signal = signal;
    log_event(spdlog::level::info, "shutting down: finishing in-flight requests",
              {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"},
               {"in_flight", metrics.in_flight.load()},
               {"connections", server.sessions()},
               {"grpc_calls", grpc.active()}});
    summary.cancel();
    drain_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.drain_timeout_s);
    server.begin_drain();
    // New gRPC calls get UNAVAILABLE; those in flight are answered (or cancelled after the deadline).
    grpc.begin_drain(std::chrono::system_clock::now() + std::chrono::seconds(options.drain_timeout_s) + kAnswerGrace);
    // A second signal stops at once: what is queued is dropped, connections are closed.
    signals.async_wait([&](error_code ec2, int) {
      if (ec2) return;
      const std::size_t dropped = batcher.cancel_queued();
      log_event(spdlog::level::warn, "second signal: stopping now", {{"dropped_texts", dropped}});
      io.stop();
    });
    poll_drain();
  });

  std::vector<std::thread> threads;
  for (int i = 1; i < io_threads; ++i) threads.emplace_back([&io] { run_io(io); });
  run_io(io);
  for (auto& t : threads) t.join();
  // Every queued text gets its answer (or an error) before the connections are torn down; then the
  // remaining handlers run to completion so no session outlives the server.
  batcher.stop();
  error_code ignored;
  signals.cancel(ignored);
  summary.cancel();
  drain_timer.cancel();
  server.close_all();
  io.restart();
  run_io(io);
  grpc.stop();  // every call has its answer now that the batcher has stopped
  log_summary(metrics, last_totals, batcher, options.summary_interval_s);
  log_event(spdlog::level::info, "stopped", {{"requests", metrics.totals().requests}});
  return 0;
}

}  // namespace senti::serving
