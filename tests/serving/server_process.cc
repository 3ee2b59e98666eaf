#include "serving/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace senti::test {

ServerProcess::ServerProcess(const std::vector<std::string>& extra_args) {
  char path[] = "/tmp/senti-serve-test-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) {
    ADD_FAILURE() << "mkstemp failed";
    return;
  }
  log_path_ = path;
  std::vector<std::string> args = {SENTI_EXE, "serve", "--port", "0", "--log-format", "json", "--threads", "1"};
  if (std::find(extra_args.begin(), extra_args.end(), "--model") == extra_args.end())
    args.insert(args.end(), {"--model", std::string(SENTI_TEST_DATA_DIR) + "/models/tiny"});
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fd);
  if (pid_ < 0) {
    ADD_FAILURE() << "fork failed";
    return;
  }
  // Generous: the machine running the tests may be busy.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::istringstream lines(log());
    std::string line;
    while (std::getline(lines, line)) {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.value("message", "") == "senti serve listening") {
        port_ = j.value("port", std::uint16_t{0});
        grpc_port_ = j.value("grpc_port", std::uint16_t{0});
        return;
      }
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      ADD_FAILURE() << "senti serve exited before listening:\n" << log();
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "senti serve did not start within 60 s:\n" << log();
  kill();
}

ServerProcess::~ServerProcess() {
  kill();
  if (!log_path_.empty()) unlink(log_path_.c_str());
}

int ServerProcess::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (pid_ > 0) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_status_;
    }
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exit_status_;
}

int ServerProcess::stop(int signal, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return exit_status_;
  ::kill(pid_, signal);
  const int status = wait(timeout);
  if (status == -1) kill();
  return status;
}

void ServerProcess::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait(std::chrono::seconds(30));
}

std::string ServerProcess::log() const {
  std::ifstream in(log_path_);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace senti::test
