#include "serving/http_client.h"

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace senti::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

struct HttpClient::Impl {
  std::uint16_t port;
  std::chrono::milliseconds timeout;
  asio::io_context io;
  std::unique_ptr<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  int connects = 0;

  // Runs one asynchronous operation to completion (the stream's deadline bounds it).
  template <class Start>
  error_code run(Start&& start) {
    error_code result = asio::error::timed_out;
    start([&result](error_code ec, auto&&...) { result = ec; });
    io.restart();
    io.run();
    return result;
  }

  error_code connect() {
    stream = std::make_unique<beast::tcp_stream>(io);
    buffer.clear();
    ++connects;
    stream->expires_after(timeout);
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
    return run([&](auto handler) { stream->async_connect(endpoint, std::move(handler)); });
  }

  HttpResult exchange(http::request<http::string_body>& req, bool allow_retry) {
    HttpResult out;
    const bool fresh = !stream;
    if (!stream) {
      if (auto ec = connect()) {
        out.error = "connect: " + ec.message();
        stream.reset();
        return out;
      }
    }
    stream->expires_after(timeout);
    error_code ec = run([&](auto handler) { http::async_write(*stream, req, std::move(handler)); });
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    if (!ec) {
      stream->expires_after(timeout);
      ec = run([&](auto handler) { http::async_read(*stream, buffer, parser, std::move(handler)); });
    }
    if (ec) {
      stream.reset();
      // A kept-alive connection the server closed meanwhile: once more on a new one.
      if (!fresh && allow_retry && (ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
                                    ec == asio::error::broken_pipe || ec == asio::error::eof))
        return exchange(req, false);
      out.error = ec.message();
      return out;
    }
    auto res = parser.release();
    out.status = static_cast<int>(res.result_int());
    out.body = std::move(res.body());
    out.keep_alive = res.keep_alive();
    for (const auto& field : res) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(field.value());
    }
    if (!out.keep_alive) stream.reset();
    return out;
  }
};

HttpClient::HttpClient(std::uint16_t port, std::chrono::milliseconds timeout) : impl_(std::make_unique<Impl>()) {
  impl_->port = port;
  impl_->timeout = timeout;
}

HttpClient::~HttpClient() = default;

HttpResult HttpClient::get(const std::string& target) { return request("GET", target, ""); }
HttpResult HttpClient::post(const std::string& target, const std::string& body) { return request("POST", target, body); }

HttpResult HttpClient::request(const std::string& method, const std::string& target, const std::string& body,
                               const std::map<std::string, std::string>& headers) {
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, "127.0.0.1");
  req.keep_alive(true);
  if (!body.empty() || method == "POST") {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
  }
  for (const auto& [name, value] : headers) req.set(name, value);
  return impl_->exchange(req, true);
}

HttpResult HttpClient::raw(const std::string& bytes) {
  HttpResult out;
  if (auto ec = impl_->connect()) {
    out.error = "connect: " + ec.message();
    impl_->stream.reset();
    return out;
  }
  auto& s = *impl_->stream;
  s.expires_after(impl_->timeout);
  error_code ec = impl_->run([&](auto handler) { asio::async_write(s, asio::buffer(bytes), std::move(handler)); });
  http::response_parser<http::string_body> parser;
  if (!ec) {
    s.expires_after(impl_->timeout);
    ec = impl_->run([&](auto handler) { http::async_read(s, impl_->buffer, parser, std::move(handler)); });
  }
  impl_->stream.reset();
  if (ec) {
    out.error = ec.message();
    return out;
  }
  out.status = static_cast<int>(parser.get().result_int());
  out.body = parser.get().body();
  for (const auto& field : parser.get()) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(field.value());
  }
  return out;
}

int HttpClient::connects() const { return impl_->connects; }

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace senti::test
