// The gRPC endpoint of `senti serve --grpc-port N`: the KServe v2 GRPCInferenceService (kserve_v2.proto)
// in front of the same Service as HTTP. Each call is translated into the equivalent HTTP KServe v2
// request (grpc_codec), so it shares the batcher, limits, errors, metrics and drain of the HTTP API.
// No gRPC header here: without the gRPC packages (SENTI_GRPC off) this builds against a stub whose
// start() refuses with a clear error.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "serving/service.h"

namespace senti::serving {

class GrpcServer {
 public:
  // Whether this binary was built with gRPC.
  static bool available();

  explicit GrpcServer(Service& service);
  ~GrpcServer();  // stop()
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // Listens on host:port (0: any free port) and serves. Returns the bound port; throws std::runtime_error
  // when it cannot listen (or gRPC is not built in). Messages over the service's payload limit are
  // refused (RESOURCE_EXHAUSTED).
  std::uint16_t start(const std::string& host, std::uint16_t port);
  // Stops taking calls (new ones get UNAVAILABLE); the calls in flight are answered; those still
  // unanswered at the deadline are cancelled. Returns at once.
  void begin_drain(std::chrono::system_clock::time_point deadline);
  // Calls received and not answered yet.
  std::size_t active() const;
  // True once a begun drain has ended: grpc::Server::Shutdown returned, every call received before it was
  // answered (or cancelled at the deadline). Calls received but not yet in a handler count as in flight
  // here, unlike active(). True when the server was never started.
  bool drained() const;
  // Waits for the drain (begin_drain with now when none was begun), then stops. Every queued text must
  // get its answer for this to return: call after the batcher has stopped.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace senti::serving
