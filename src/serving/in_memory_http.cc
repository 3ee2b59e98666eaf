#include "serving/in_memory_http.h"

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "serving/http_message.h"

namespace senti::serving {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// A SyncReadStream over fixed bytes: hands them out in the pieces asked for, then end of file.
class BytesStream {
 public:
  explicit BytesStream(std::string_view bytes) : bytes_(bytes) {}

  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers, boost::system::error_code& ec) {
    if (bytes_.empty()) {
      ec = asio::error::eof;
      return 0;
    }
    ec = {};
    const std::size_t n = asio::buffer_copy(buffers, asio::buffer(bytes_.data(), bytes_.size()));
    bytes_.remove_prefix(n);
    return n;
  }
  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers) {
    boost::system::error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  std::string_view bytes_;
};

}  // namespace

HttpResponse handle_in_memory(Service& service, HttpRequest request) {
  struct State {
    std::mutex mutex;
    std::condition_variable cv;
    std::deque<std::function<void()>> posted;
    std::optional<HttpResponse> response;
  };
  auto state = std::make_shared<State>();
  service.handle(
      std::move(request),
      [state](HttpResponse response) {
        std::lock_guard lock(state->mutex);
        state->response = std::move(response);
        state->cv.notify_all();
      },
      [state](std::function<void()> fn) {
        std::lock_guard lock(state->mutex);
        state->posted.push_back(std::move(fn));
        state->cv.notify_all();
      });
  std::unique_lock lock(state->mutex);
  for (;;) {
    if (state->response) return std::move(*state->response);
    if (!state->posted.empty()) {
      auto fn = std::move(state->posted.front());
      state->posted.pop_front();
      lock.unlock();
      fn();
      lock.lock();
      continue;
    }
    state->cv.wait(lock);
  }
}

std::string serve_bytes(std::string_view bytes, Service& service, const ServeOptions& options) {
  BytesStream stream(bytes);
  beast::flat_buffer buffer{kMaxBufferedBytes};  // the live server's bound (http_message.h)
  std::ostringstream out;
  for (;;) {
    RequestParser parser;
    configure_request_parser(parser, options);
    boost::system::error_code ec;
    http::read_header(stream, buffer, parser, ec);
    if (!ec && !parser.is_done()) {
      const auto& header = parser.get();
      if (beast::iequals(header[http::field::expect], "100-continue"))
        out << http::response<http::empty_body>(http::status::continue_, header.version());
      http::read(stream, buffer, parser, ec);
    }
    if (ec) {
      const ReadPhase phase = parser.is_header_done() ? ReadPhase::kBody : ReadPhase::kHeader;
      if (const auto rejection = read_rejection(ec, phase, options))
        out << make_wire_response(service.transport_error(rejection->status, rejection->message, "validation"), 11,
                                  false, false, options);
      break;
    }
    auto request = parser.release();
    const unsigned version = request.version();
    const bool keep_alive = request.keep_alive();
    const bool head = request.method() == http::verb::head;
    HttpRequest req = service_request(std::move(request));
    HttpResponse response = handle_in_memory(service, std::move(req));
    const bool close = !keep_alive || service.draining();
    out << make_wire_response(std::move(response), version, !close, head, options);
    if (close) break;
  }
  return out.str();
}

InMemoryServer::InMemoryServer(ServeOptions options)
    : options_(std::move(options)),
      classifier_(Classifier::load(options_.model_dir, classifier_options_of(options_))),
      batcher_(
          batch_options_of(options_, classifier_),
          [this](const std::vector<Encoding>& encodings) { return classifier_.classify(encodings); },
          [this](const BatchStats& stats) {
            metrics_.observe_batch(stats.items, stats.tokens);
            metrics_.observe_inference(stats.inference_ms / 1000.0);
          }),
      service_(classifier_, batcher_, metrics_, service_settings_of(options_, classifier_)) {
  metrics_.queue_depth = [this] { return batcher_.queue_depth(); };
  batcher_.start();
}

InMemoryServer::~InMemoryServer() { batcher_.stop(); }

}  // namespace senti::serving
