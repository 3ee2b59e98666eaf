// The server's request path without sockets, for fuzzing and tests: bytes as a client's connection
// delivers them go through the live server's HTTP parser (same limits, same error answers, see
// http_message.h) and the same Service (router, decoders, batcher, model); what comes back is what
// the server would write on the connection.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "senti/classifier.h"
#include "serving/batcher.h"
#include "serving/metrics.h"
#include "serving/options.h"
#include "serving/service.h"

namespace senti::serving {

// Hands one request to Service::handle and waits for its answer, running what the service posts on
// the calling thread (as a connection's executor would). The batcher must be started when the request
// reaches the model.
HttpResponse handle_in_memory(Service& service, HttpRequest request);

// Reads requests from bytes (keep-alive and pipelining included) until the connection would close or
// the bytes run out, answers each, and returns everything the server would write back, in order.
// A request cut short by the end of the bytes gets no answer, as when a client leaves.
std::string serve_bytes(std::string_view bytes, Service& service, const ServeOptions& options);

// The serving stack of `senti serve` set up from its options (model, batcher and its engine thread,
// metrics, service), without the network: requests go in as bytes or as HttpRequest.
class InMemoryServer {
 public:
  explicit InMemoryServer(ServeOptions options);
  ~InMemoryServer();
  InMemoryServer(const InMemoryServer&) = delete;
  InMemoryServer& operator=(const InMemoryServer&) = delete;

  std::string serve_bytes(std::string_view bytes) { return serving::serve_bytes(bytes, service_, options_); }
  HttpResponse handle(HttpRequest request) { return handle_in_memory(service_, std::move(request)); }
  Service& service() { return service_; }
  const Classifier& classifier() const { return classifier_; }

 private:
  ServeOptions options_;
  Classifier classifier_;
  Metrics metrics_;
  Batcher batcher_;
  Service service_;
};

}  // namespace senti::serving
