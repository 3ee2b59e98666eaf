// ClassifierOptions::num_threads holds on whichever thread calls classify(): the service builds the
// classifier on its main thread and runs it on an engine thread, and OpenMP's thread count is per thread.
#include <thread>

#include <gtest/gtest.h>
#include <omp.h>

#include "runtime/golden_util.h"
#include "senti/classifier.h"

namespace senti {
namespace {

TEST(Threads, NumThreadsHoldsOnAnotherCallingThread) {
  if (omp_get_num_procs() < 2) GTEST_SKIP() << "one core: every thread count is 1";
  ClassifierOptions options;
  options.num_threads = 1;
  options.precision = "fp32";
  Classifier classifier = Classifier::load(test::test_data_dir() / "models/tiny", options);
  int threads_seen = -1;
  std::thread engine([&] {
    classifier.classify(std::vector<std::string>{"这件衣服的质量真的太棒了"});
    threads_seen = omp_get_max_threads();
  });
  engine.join();
  EXPECT_EQ(threads_seen, 1);
}

}  // namespace
}  // namespace senti
