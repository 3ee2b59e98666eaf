// Engine micro-benchmark: median latency of Classifier::classify on pre-tokenized inputs (the
// tokenizer is excluded) for fixed shapes and precisions, on any model folder or .senti file.
//   senti_engine_bench MODEL [--precision fp32,bf16,int8] [--shapes 1x14,1x55,32x55] [--iters N]
//                      [--threads N] [--pause-us N]
// Prints one Markdown row per (precision, shape): median and p10/p90 wall ms per call, the median
// CPU time of the calling thread (with --threads 1 that is all the work, and unlike wall time it
// does not count time the OS gave to other processes: the robust figure on a shared machine),
// sequences/s and tokens/s (from the wall median). Precisions are interleaved shape by shape so that
// machine noise hits them alike.
// --pause-us N sleeps N µs before each timed call, as a server's engine idles between the requests
// of a serial client: back-to-back calls keep the weights and the core's caches and clock warm, a
// pause shows what a request pays when they are not (compare with 0, the default).
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "split_list.h"
#include "senti/classifier.h"
#include "senti/error.h"

namespace {

using senti::bench::split;

struct Shape {
  std::size_t batch = 1, tokens = 14;
};

std::vector<senti::Encoding> make_inputs(const Shape& shape, std::size_t vocab) {
  std::vector<senti::Encoding> inputs(shape.batch);
  uint32_t state = 12345;
  for (auto& e : inputs) {
    e.input_ids.push_back(101);
    for (std::size_t t = 2; t < shape.tokens; ++t) {
      state = state * 1664525u + 1013904223u;
      e.input_ids.push_back(static_cast<int32_t>(672 + state % static_cast<uint32_t>(vocab - 1000)));
    }
    e.input_ids.push_back(102);
    e.token_type_ids.assign(e.input_ids.size(), 0);
  }
  return inputs;
}

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help") {
    std::fprintf(stderr,
                 "usage: %s MODEL [--precision fp32,bf16,int8] [--shapes 1x14,1x55,32x55] [--iters N] [--threads N]"
                 " [--pause-us N]\n",
                 argv[0]);
    return 2;
  }
  std::string model = argv[1], precisions = "fp32,bf16,int8", shapes_arg = "1x14,1x55,32x55";
  int iters = 200, threads = 0, pause_us = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--precision") precisions = value;
    if (key == "--shapes") shapes_arg = value;
    if (key == "--iters") iters = std::atoi(value.c_str());
    if (key == "--threads") threads = std::atoi(value.c_str());
    if (key == "--pause-us") pause_us = std::atoi(value.c_str());
  }
  std::vector<Shape> shapes;
  for (const auto& s : split(shapes_arg, ',')) {
    const auto parts = split(s, 'x');
    shapes.push_back({std::stoul(parts.at(0)), std::stoul(parts.at(1))});
  }
  try {
    std::map<std::string, senti::Classifier> classifiers;
    for (const auto& p : split(precisions, ',')) {
      senti::ClassifierOptions options;
      options.precision = p;
      options.num_threads = threads;
      const auto start = std::chrono::steady_clock::now();
      classifiers.emplace(p, senti::Classifier::load(model, options));
      const double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      std::printf("%s: %s, load %.1f ms\n", p.c_str(), classifiers.at(p).backend_name().c_str(), load_ms);
    }
    std::printf("\n| precision | shape (seqs x tokens) | median ms | p10 ms | p90 ms | thread CPU ms | seqs/s | tokens/s |\n");
    std::printf("|---|---|---|---|---|---|---|---|\n");
    for (const auto& shape : shapes) {
      const auto inputs = make_inputs(shape, classifiers.begin()->second.config().vocab_size);
      const int n = shape.batch > 1 ? std::max(iters / 8, 10) : iters;
      std::map<std::string, std::vector<double>> samples, cpu;
      for (auto& [p, c] : classifiers)
        for (int w = 0; w < 3; ++w) c.classify(inputs);  // warm-up: primitives, buffers
      for (int i = 0; i < n; ++i) {
        for (auto& [p, c] : classifiers) {
          if (pause_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(pause_us));
          const double cpu_start = thread_cpu_ms();
          const auto start = std::chrono::steady_clock::now();
          c.classify(inputs);
          samples[p].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
          cpu[p].push_back(thread_cpu_ms() - cpu_start);
        }
      }
      for (auto& [p, v] : samples) {
        const double median = percentile(v, 0.5);
        std::printf("| %s | %zux%zu | %.3f | %.3f | %.3f | %.3f | %.1f | %.0f |\n", p.c_str(), shape.batch, shape.tokens,
                    median, percentile(v, 0.1), percentile(v, 0.9), percentile(cpu[p], 0.5), 1000.0 * static_cast<double>(shape.batch) / median,
                    1000.0 * static_cast<double>(shape.batch * shape.tokens) / median);
      }
    }
  } catch (const senti::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
