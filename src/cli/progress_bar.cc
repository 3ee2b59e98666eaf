#include "cli/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace senti::cli {

ProgressBar::ProgressBar(std::string label, std::uint64_t total_bytes)
    : label_(std::move(label)),
      total_(total_bytes),
      enabled_(isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  if (enabled_ && !finished_) std::fputc('\n', stderr);
}

void ProgressBar::update(std::uint64_t bytes_done, std::size_t items_done) {
  last_bytes_ = bytes_done;
  last_items_ = items_done;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  draw(bytes_done, items_done);
}

void ProgressBar::finish() {
  if (!enabled_ || finished_) return;
  draw(total_, last_items_);
  std::fputc('\n', stderr);
  finished_ = true;
}

void ProgressBar::draw(std::uint64_t bytes_done, std::size_t items_done) {
  constexpr int kWidth = 30;
  const double fraction = total_ == 0 ? 1.0 : std::min(1.0, static_cast<double>(bytes_done) / static_cast<double>(total_));
  const int filled = static_cast<int>(fraction * kWidth);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = seconds > 0 ? static_cast<double>(items_done) / seconds : 0.0;
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::fprintf(stderr, "\r%s [%s] %3.0f%%  %zu texts  %.1f texts/s ", label_.c_str(), bar.c_str(), fraction * 100.0,
               items_done, rate);
  std::fflush(stderr);
}

}  // namespace senti::cli
