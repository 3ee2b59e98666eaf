// Plain POSIX sockets for the hostile-client tests: send arbitrary bytes (ignoring a peer that stops
// reading), read whatever comes back until the server closes, hold many idle connections, and read a
// process's resident memory.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace senti::test {

// A connected loopback TCP socket, closed on destruction. fd() < 0 when the connect failed.
class RawSocket {
 public:
  explicit RawSocket(std::uint16_t port);
  ~RawSocket();
  RawSocket(RawSocket&& other) noexcept;
  RawSocket& operator=(RawSocket&&) = delete;
  RawSocket(const RawSocket&) = delete;

  int fd() const { return fd_; }
  // Sends all of bytes; false when the peer closed or reset the connection first.
  bool send(const std::string& bytes);
  // Reads until the peer closes the connection or the timeout passes.
  std::string read_until_close(std::chrono::milliseconds timeout);
  // True when the peer has closed the connection (reads EOF or an error within the timeout).
  bool closed_by_peer(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
};

// Sends bytes on a new connection and returns everything the server writes before it closes.
std::string raw_exchange(std::uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The status code of the first HTTP response in text, -1 when there is none.
int http_status_of(const std::string& text);

// VmRSS of a process in kB (from /proc/PID/status), -1 when unknown.
long rss_kb(pid_t pid);

}  // namespace senti::test
