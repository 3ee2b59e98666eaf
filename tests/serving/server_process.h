// Runs the real `senti serve --port 0` as a child process for the service tests: waits for its start
// log line to learn the port, and stops it with a signal.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace senti::test {

class ServerProcess {
 public:
  // Starts build/senti serve --port 0 --log-format json --threads 1 ... extra_args, with
  // --model tests/data/models/tiny unless extra_args name a --model.
  // Fails the calling test (ADD_FAILURE) and leaves port() == 0 when it does not come up.
  explicit ServerProcess(const std::vector<std::string>& extra_args = {});
  ~ServerProcess();  // SIGKILL if still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  std::uint16_t port() const { return port_; }
  std::uint16_t grpc_port() const { return grpc_port_; }  // with --grpc-port 0: the bound port
  pid_t pid() const { return pid_; }

  // Sends the signal and waits for the exit. Returns the exit status, 128+signal when killed by one,
  // or -1 when it did not exit in time (it is then killed).
  int stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void kill();
  std::string log() const;  // everything it wrote (stdout and stderr)

 private:
  int wait(std::chrono::milliseconds timeout);
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::uint16_t grpc_port_ = 0;
  std::string log_path_;
  int exit_status_ = -1;
};

}  // namespace senti::test
