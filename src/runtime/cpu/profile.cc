#include "runtime/cpu/profile.h"

#include <array>
#include <cstdio>
#include <cstdlib>

namespace senti::cpu {
namespace {

struct Totals {
  std::array<double, static_cast<std::size_t>(Stage::kCount)> seconds{};
  ~Totals() {
    double total = 0;
    for (double s : seconds) total += s;
    if (total <= 0) return;
    static const char* names[] = {"embedding+LN", "convert/quantize", "matmul (oneDNN)", "dequantize+bias+GELU",
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

}  // namespace senti::cpu
