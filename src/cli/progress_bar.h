// A one-line progress bar on stderr, drawn only when stderr is a terminal (never in pipes, logs, CI).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace senti::cli {

class ProgressBar {
 public:
  // total_bytes: the size of the input (progress is measured in bytes read, so no counting pass is needed).
  ProgressBar(std::string label, std::uint64_t total_bytes);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Redraws at most every 200 ms.
  void update(std::uint64_t bytes_done, std::size_t items_done);
  // Draws the final state and ends the line.
  void finish();
  bool enabled() const { return enabled_; }

 private:
  void draw(std::uint64_t bytes_done, std::size_t items_done);

  std::string label_;
  std::uint64_t total_;
  bool enabled_;
  bool finished_ = false;
  std::uint64_t last_bytes_ = 0;
  std::size_t last_items_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace senti::cli
