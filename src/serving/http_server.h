// The HTTP/1.1 network layer of `senti serve` (Boost.Beast/Asio): accepts connections, reads requests
// with deadlines and size limits, hands them to the Service, writes the answers, keeps connections
// alive, and closes them all on a drain. One strand per connection; any number of io_context threads.
#pragma once

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <boost/asio.hpp>

#include "serving/options.h"
#include "serving/service.h"

namespace senti::serving {

class Session;

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, Service& service, const ServeOptions& options)
      : io_(io), service_(service), options_(options), acceptor_(boost::asio::make_strand(io)) {}

  // Binds and listens on --host:--port; returns the bound endpoint (the real port when --port 0).
  // Throws std::runtime_error with the reason (address in use, unknown host).
  boost::asio::ip::tcp::endpoint listen();

  // Accepts connections until the acceptor is closed.
  void accept();

  // Stops accepting, closes idle connections; returns at once (the caller waits for sessions() == 0).
  void begin_drain();

  // Last step of a shutdown (no thread runs the io_context): closes the acceptor and every connection.
  void close_all();

  void add(Session* s, std::weak_ptr<Session> weak) {
    std::lock_guard lock(mutex_);
    sessions_.emplace(s, std::move(weak));
  }
  void remove(Session* s) {
    std::lock_guard lock(mutex_);
    sessions_.erase(s);
  }
  std::size_t sessions() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
  }

  bool draining() const { return draining_; }
  Service& service() { return service_; }
  const ServeOptions& options() const { return options_; }

 private:
  // The sessions still alive, taken under the lock; act on them after it is released (closing one
  // unregisters it, which takes the lock again).
  std::vector<std::shared_ptr<Session>> live_sessions();

  // Counts accept errors and logs them at most once a second, with how many there were.
  void note_accept_failure(const boost::system::error_code& ec);

  static constexpr std::chrono::milliseconds kMinAcceptBackoff{10};
  std::chrono::milliseconds accept_backoff_ = kMinAcceptBackoff;
  long long accept_failures_ = 0;
  std::chrono::steady_clock::time_point last_accept_log_{};

  boost::asio::io_context& io_;
  Service& service_;
  const ServeOptions& options_;
  // On a strand of its own: its accept handlers, the accept back-off timer and begin_drain's close all
  // run there, one at a time. (With the io_context's plain executor, a drain's close ran on one network
  // thread while another thread's accept handler started the next accept on the same acceptor: the
  // server crashed (SIGSEGV in start_op) when a connection arrived as SIGTERM came.)
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> draining_{false};
  mutable std::mutex mutex_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;
};

}  // namespace senti::serving
