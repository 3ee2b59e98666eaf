#include "serving/http_server.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "serving/http_message.h"
#include "serving/logging.h"
#include "serving/service.h"

namespace senti::serving {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// One client connection. Reads a request, hands it to the Service, writes the answer, repeats while the
// client keeps the connection alive. Every socket operation has a deadline, so a slow or silent client
// only ever holds its own connection.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer& server);
  ~Session();
  void start();
  // Called (on this session's strand) when the server drains: closes the connection unless a request is
  // being served; that one closes after its answer.
  void close_if_idle();
  void force_close() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->close(); });
  }

 private:
  void read_header();
  void on_header(error_code ec);
  void read_body();
  void on_body(error_code ec);
  void dispatch();
  void respond(HttpResponse response, bool close_after, bool head = false);
  void write_continue();
  void on_write(error_code ec, bool close_after);
  // Answers an error the service never saw (over-limit or unparsable request), then closes.
  void reject(int status, std::string_view message, std::string_view type);
  void close();
  void linger_close();

  beast::tcp_stream stream_;
  // Bounded: a request line plus headers, a chunk header with its extensions, or the trailer section
  // must each fit (a longer one is refused), so no part of a request can grow memory past this.
  beast::flat_buffer buffer_{kMaxBufferedBytes};
  std::optional<RequestParser> parser_;
  std::shared_ptr<WireResponse> response_;
  HttpServer& server_;
  bool busy_ = false;
  bool closed_ = false;
  bool keep_alive_ = true;
  bool linger_ = false;
  unsigned version_ = 11;
  std::string method_;
};

Session::Session(tcp::socket socket, HttpServer& server) : stream_(std::move(socket)), server_(server) {}

Session::~Session() { server_.remove(this); }

void Session::start() {
  server_.add(this, weak_from_this());
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    if (self->server_.draining()) return self->close();
    self->read_header();
  });
}

void Session::close_if_idle() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    if (!self->busy_) self->close();
  });
}

void Session::close() {
  if (closed_) return;
  closed_ = true;
  error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.close();
}

void Session::read_header() {
  if (closed_) return;
  parser_.emplace();
  configure_request_parser(*parser_, server_.options());
  stream_.expires_after(std::chrono::seconds(server_.options().read_timeout_s));
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = shared_from_this()](error_code ec, std::size_t) { self->on_header(ec); });
}

void Session::on_header(error_code ec) {
  if (const auto rejection = read_rejection(ec, ReadPhase::kHeader, server_.options()))
    return reject(rejection->status, rejection->message, "validation");
  if (ec) return close();  // the client left, timed out, or we are closing
  const auto& header = parser_->get();
  method_ = std::string(header.method_string());
  version_ = header.version();
  keep_alive_ = header.keep_alive();
  if (beast::iequals(header[http::field::expect], "100-continue") && !parser_->is_done()) return write_continue();
  read_body();
}

void Session::write_continue() {
  auto res = std::make_shared<http::response<http::empty_body>>(http::status::continue_, version_);
  stream_.expires_after(std::chrono::seconds(server_.options().write_timeout_s));
  http::async_write(stream_, *res, [self = shared_from_this(), res](error_code ec, std::size_t) {
    if (ec) return self->close();
    self->read_body();
  });
}

void Session::read_body() {
  if (parser_->is_done()) return dispatch();
  stream_.expires_after(std::chrono::seconds(server_.options().read_timeout_s));
  http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](error_code ec, std::size_t) { self->on_body(ec); });
}

void Session::on_body(error_code ec) {
  if (const auto rejection = read_rejection(ec, ReadPhase::kBody, server_.options()))
    return reject(rejection->status, rejection->message, "validation");
  if (ec) return close();
  dispatch();
}

void Session::dispatch() {
  auto request = parser_->release();
  parser_.reset();
  busy_ = true;
  stream_.expires_never();  // the answer may wait for the engine; the client's read deadline is its own
  const bool head = request.method() == http::verb::head;
  HttpRequest req = service_request(std::move(request));
  auto self = shared_from_this();
  server_.service().handle(
      std::move(req),
      [self, head](HttpResponse response) { self->respond(std::move(response), false, head); },
      [self](std::function<void()> fn) { asio::post(self->stream_.get_executor(), std::move(fn)); });
}

void Session::respond(HttpResponse response, bool close_after, bool head) {
  if (closed_) return;
  close_after = close_after || !keep_alive_ || server_.draining();
  auto res = std::make_shared<WireResponse>(
      make_wire_response(std::move(response), version_, !close_after, head, server_.options()));
  response_ = res;
  stream_.expires_after(std::chrono::seconds(server_.options().write_timeout_s));
  http::async_write(stream_, *res, [self = shared_from_this(), close_after](error_code ec, std::size_t) {
    self->on_write(ec, close_after);
  });
}

void Session::on_write(error_code ec, bool close_after) {
  busy_ = false;
  response_.reset();
  if (ec) return close();
  // Rejected before its body was read: the client may still be sending it.
  if (linger_) return linger_close();
  // Draining may have begun while this request was served (close_if_idle then saw it busy).
  if (close_after || server_.draining()) return close();
  read_header();
}

void Session::reject(int status, std::string_view message, std::string_view type) {
  busy_ = true;
  keep_alive_ = false;
  linger_ = true;
  respond(server_.service().transport_error(status, message, type), true);
}

// Half-closes, then reads (and drops) what the client still sends for a moment before closing, so that a
// client still writing a rejected body reads our answer instead of a connection reset.
void Session::linger_close() {
  error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.expires_after(std::chrono::seconds(2));
  auto discard = std::make_shared<std::vector<char>>(64 * 1024);
  auto total = std::make_shared<std::size_t>(0);
  auto step = std::make_shared<std::function<void()>>();
  *step = [self = shared_from_this(), discard, total, step]() {
    self->stream_.async_read_some(asio::buffer(*discard), [self, discard, total, step](error_code ec, std::size_t n) {
      *total += n;
      if (ec || *total > 64u * 1024 * 1024) {
        *step = nullptr;  // break the cycle
        return self->close();
      }
      (*step)();
    });
  };
  (*step)();
}

tcp::endpoint HttpServer::listen() {
  error_code ec;
  auto address = asio::ip::make_address(options_.host, ec);
  if (ec) {  // a host name such as localhost
    tcp::resolver resolver(io_);
    const auto results = resolver.resolve(options_.host, "", ec);
    if (ec || results.empty())
      throw std::runtime_error("--host " + options_.host + " is neither an IP address nor a known host name");
    address = results.begin()->endpoint().address();
  }
  const tcp::endpoint endpoint(address, options_.port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + options_.host + ":" + std::to_string(options_.port) + ": " +
                             ec.message());
  acceptor_.listen(asio::socket_base::max_listen_connections);
  return acceptor_.local_endpoint();
}

void HttpServer::accept() {
  acceptor_.async_accept(asio::make_strand(io_), [this](error_code ec, tcp::socket socket) {
    if (!acceptor_.is_open()) return;
    if (!ec) {
      error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Session>(std::move(socket), *this)->start();
    } else if (ec != asio::error::operation_aborted) {
      note_accept_failure(ec);
      // Out of file descriptors and the like: back off (up to a second) instead of spinning; the
      // pending connections wait in the listen backlog.
      auto timer = std::make_shared<asio::steady_timer>(acceptor_.get_executor(), accept_backoff_);
      accept_backoff_ = std::min<std::chrono::milliseconds>(accept_backoff_ * 2, std::chrono::seconds(1));
      timer->async_wait([this, timer](error_code) { accept(); });
      return;
    }
    accept_backoff_ = kMinAcceptBackoff;
    accept();
  });
}

void HttpServer::note_accept_failure(const error_code& ec) {
  ++accept_failures_;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_accept_log_ < std::chrono::seconds(1)) return;
  last_accept_log_ = now;
  log_event(spdlog::level::warn, "accept failed",
            {{"error", ec.message()}, {"failures", std::exchange(accept_failures_, 0)}, {"connections", sessions()}});
}

std::vector<std::shared_ptr<Session>> HttpServer::live_sessions() {
  std::vector<std::shared_ptr<Session>> live;
  std::lock_guard lock(mutex_);
  for (auto& [ptr, weak] : sessions_)
    if (auto s = weak.lock()) live.push_back(std::move(s));
  return live;
}

void HttpServer::begin_drain() {
  draining_ = true;
  service_.set_draining();
  asio::post(acceptor_.get_executor(), [this] {
    error_code ignored;
    acceptor_.close(ignored);
  });
  for (const auto& s : live_sessions()) s->close_if_idle();
}

void HttpServer::close_all() {
  error_code ignored;
  acceptor_.close(ignored);
  for (const auto& s : live_sessions()) s->force_close();
}

}  // namespace senti::serving
