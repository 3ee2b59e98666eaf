// A small synchronous HTTP/1.1 client for the service tests (Boost.Beast), with a deadline on every
// operation so a broken server fails a test instead of hanging it. Keeps the connection alive between
// requests and reconnects when the server closed it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace senti::test {

struct HttpResult {
  int status = -1;            // -1: no answer (error says why)
  std::string error;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
  bool keep_alive = true;
};

class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResult get(const std::string& target);
  HttpResult post(const std::string& target, const std::string& body);
  // headers: extra fields, set after (so replacing) the default Content-Type.
  HttpResult request(const std::string& method, const std::string& target, const std::string& body,
                     const std::map<std::string, std::string>& headers = {});
  // Sends these bytes as they are (a new connection) and reads one HTTP response.
  HttpResult raw(const std::string& bytes);

  int connects() const;  // connections opened so far

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Percent-encodes every byte outside [A-Za-z0-9-_.~].
std::string url_encode(const std::string& s);

}  // namespace senti::test
