// precision "auto" on the CPU (runtime/auto_precision.h): measured at load, accuracy against fp32 on the
// calibration texts, the choice and its reason, the per-model cache (hit, corrupt file, other thread
// count), and the rule fallback.
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "runtime/auto_precision.h"
#include "runtime/cpu/precision.h"
#include "runtime/golden_util.h"
#include "senti/checkpoint.h"
#include "senti/classifier.h"
#include "senti/host_info.h"

namespace senti {
namespace {

std::filesystem::path tiny_dir() { return test::test_data_dir() / "models/tiny"; }

std::set<std::string> host_precisions() {
  std::set<std::string> out;
  const CpuFeatures f = detect_cpu_features();
  for (cpu::Precision p : {cpu::Precision::kFp32, cpu::Precision::kBf16, cpu::Precision::kInt8})
    if (cpu::host_supports(p, f)) out.insert(cpu::precision_name(p));
  return out;
}

struct Loaded {
  Checkpoint checkpoint;
  BertTokenizer tokenizer;
};

Loaded load_tiny() {
  Checkpoint checkpoint = Checkpoint::load(tiny_dir());
  BertTokenizer tokenizer = BertTokenizer::from_folder(tiny_dir(), checkpoint.config().max_position_embeddings);
  return {std::move(checkpoint), std::move(tokenizer)};
}

BackendOptions one_thread() {
  BackendOptions o;
  o.num_threads = 1;
  return o;
}

std::size_t files_in(const std::filesystem::path& dir) {
  std::size_t n = 0;
  if (std::filesystem::exists(dir))
    for (const auto& entry : std::filesystem::directory_iterator(dir)) n += entry.is_regular_file();
  return n;
}

// Each test: the tiny checkpoint and settings that cache in a folder of its own.
class AutoPrecision : public ::testing::Test {
 protected:
  AutoPrecision() : m(load_tiny()) { settings.cache_dir = cache.path(); }
  PrecisionChoice choose(const BackendOptions& options = one_thread()) {
    return choose_cpu_precision(m.checkpoint, m.tokenizer, 128, options, settings);
  }

  test::TempDir cache{"auto-precision"};
  Loaded m;
  AutoPrecisionSettings settings;
};

TEST_F(AutoPrecision, MeasuresEveryPrecisionTheHostRunsAndSaysWhy) {
  const PrecisionChoice choice = choose();
  ASSERT_NE(choice.backend, nullptr);
  EXPECT_FALSE(choice.from_cache);
  EXPECT_TRUE(host_precisions().count(choice.precision)) << choice.precision;
  EXPECT_EQ(choice.backend->precision(), choice.precision);
  EXPECT_EQ(choice.reason.rfind("auto chose " + choice.precision + " (measured at load", 0), 0u) << choice.reason;
  for (const std::string& p : host_precisions()) EXPECT_NE(choice.reason.find(" " + p + " "), std::string::npos) << p;
  if (!host_precisions().count("bf16")) {
    EXPECT_NE(choice.reason.find("bf16 not run by this CPU"), std::string::npos);
  }
  EXPECT_EQ(files_in(cache.path()), 1u);
  std::printf("%s\n", choice.reason.c_str());
}

TEST_F(AutoPrecision, APrecisionOutsideTheToleranceIsNeverChosen) {
  settings.tolerance = -1;  // no reduced precision can be within it
  const PrecisionChoice choice = choose();
  EXPECT_EQ(choice.precision, "fp32");
  if (host_precisions().size() > 1) {
    EXPECT_NE(choice.reason.find("over the tolerance: not accurate enough"), std::string::npos) << choice.reason;
  }
}

TEST_F(AutoPrecision, TheMorePreciseOneWinsWhenTheSpeedupIsTooSmall) {
  settings.min_speedup = 1e9;  // no precision is a billion times faster than fp32
  const PrecisionChoice choice = choose();
  EXPECT_EQ(choice.precision, "fp32") << choice.reason;
}

TEST_F(AutoPrecision, TheChoiceIsCachedPerModelHostAndThreads) {
  const PrecisionChoice first = choose();
  const PrecisionChoice again = choose();
  EXPECT_TRUE(again.from_cache);
  EXPECT_EQ(again.precision, first.precision);
  EXPECT_EQ(again.reason.rfind(first.reason + " [cached in " + cache.path().string(), 0), 0u) << again.reason;
  EXPECT_EQ(files_in(cache.path()), 1u);

  BackendOptions two = one_thread();
  two.num_threads = 2;  // another thread count is measured on its own
  EXPECT_FALSE(choose(two).from_cache);
  EXPECT_EQ(files_in(cache.path()), 2u);

  settings.use_cache = false;  // SENTI_AUTO_PRECISION=measure
  EXPECT_FALSE(choose().from_cache);
}

TEST_F(AutoPrecision, ACorruptOrForeignCacheFileIsMeasuredAgain) {
  choose();
  const auto file = std::filesystem::directory_iterator(cache.path())->path();
  for (const std::string& content : {std::string("{not json"), std::string(R"({"precision": "fp64", "reason": "x"})"),
                                     std::string(R"({"precision": 3})")}) {
    std::ofstream(file) << content;
    const PrecisionChoice choice = choose();
    EXPECT_FALSE(choice.from_cache) << content;
    EXPECT_TRUE(host_precisions().count(choice.precision));
  }
}

TEST_F(AutoPrecision, AnUnwritableCacheDirectoryOnlyCostsTheCache) {
  settings.cache_dir = "/proc/senti-no-such-dir";
  const PrecisionChoice choice = choose();
  EXPECT_NE(choice.backend, nullptr);
  EXPECT_FALSE(choose().from_cache);
}

TEST_F(AutoPrecision, TheClassifierReportsItsChoice) {
  ::setenv("SENTI_CACHE_DIR", cache.path().c_str(), 1);
  ClassifierOptions options;
  options.num_threads = 1;
  Classifier classifier = Classifier::load(tiny_dir(), options);
  EXPECT_EQ(classifier.precision_choice().rfind("auto chose " + classifier.precision(), 0), 0u)
      << classifier.precision_choice();
  options.precision = "fp32";
  EXPECT_EQ(Classifier::load(tiny_dir(), options).precision_choice(), "asked for fp32");
  options.precision = "auto";
  ::setenv("SENTI_AUTO_PRECISION", "rule", 1);
  Classifier by_rule = Classifier::load(tiny_dir(), options);
  EXPECT_EQ(by_rule.precision(), cpu::precision_name(cpu::resolve_auto_precision(detect_cpu_features())));
  EXPECT_NE(by_rule.precision_choice().find("SENTI_AUTO_PRECISION=rule"), std::string::npos);
  ::unsetenv("SENTI_AUTO_PRECISION");
  ::unsetenv("SENTI_CACHE_DIR");
}

}  // namespace
}  // namespace senti
