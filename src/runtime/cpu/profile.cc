#include "runtime/cpu/profile.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <tuple>

namespace senti::cpu {
namespace {

struct MatmulTotals {
  std::size_t calls = 0, rows = 0;
  double seconds = 0;
};

struct Totals {
  std::array<double, static_cast<std::size_t>(Stage::kCount)> seconds{};
  std::mutex mutex;  // guards matmuls (the serving engine thread and others may both profile)
  // Keyed by kernel, n, k and whether the call had one row: one-row calls (the last layer's CLS row, the
  // pooler) stream their weights once and are bound by memory, the others by compute.
  std::map<std::tuple<std::string, std::size_t, std::size_t, bool>, MatmulTotals> matmuls;
  ~Totals() {
    print_stages();
    if (matmuls.empty()) return;
    std::fprintf(stderr, "senti matmul profile (calling thread CPU time; with more threads only its share):\n");
    std::fprintf(stderr, "  %-34s %6s %6s %8s %9s %9s %9s\n", "kernel", "n", "k", "calls", "rows/call", "seconds",
                 "GOP/s");
    for (const auto& [key, t] : matmuls) {
      const auto& [kernel, n, k, one_row] = key;
      const double ops = 2.0 * static_cast<double>(t.rows) * static_cast<double>(n) * static_cast<double>(k);
      const std::string name = one_row ? kernel + " (1 row)" : kernel;
      std::fprintf(stderr, "  %-34s %6zu %6zu %8zu %9.1f %9.3f %9.1f\n", name.c_str(), n, k, t.calls,
                   static_cast<double>(t.rows) / static_cast<double>(t.calls), t.seconds,
                   t.seconds > 0 ? ops / t.seconds * 1e-9 : 0.0);
    }
  }
  void print_stages() const {
    double total = 0;
    for (double s : seconds) total += s;
    if (total <= 0) return;
    static const char* names[] = {"embedding+LN", "convert/quantize", "matmul", "dequantize+bias+GELU",
                                  "attention", "residual+LN", "pooler+classifier"};
    std::fprintf(stderr, "senti profile (SENTI_PROFILE, calling thread CPU time): total %.3f s\n", total);
    for (std::size_t i = 0; i < seconds.size(); ++i)
      std::fprintf(stderr, "  %-22s %8.3f s  %5.1f%%\n", names[i], seconds[i], 100.0 * seconds[i] / total);
  }
};

Totals& totals() {
  static Totals t;
  return t;
}

}  // namespace

bool profiling_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("SENTI_PROFILE");
    return v != nullptr && *v != '\0' && *v != '0';
  }();
  return on;
}

void profile_add(Stage stage, double seconds) { totals().seconds[static_cast<std::size_t>(stage)] += seconds; }

void profile_matmul(const std::string& kernel, std::size_t rows, std::size_t n, std::size_t k, double seconds) {
  Totals& t = totals();
  std::lock_guard<std::mutex> lock(t.mutex);
  MatmulTotals& m = t.matmuls[{kernel, n, k, rows == 1}];
  ++m.calls;
  m.rows += rows;
  m.seconds += seconds;
}

}  // namespace senti::cpu
