// bf16 and int8 against fp32 and the fp32 transformers goldens, on the tiny checkpoint and the
// rbt3-shaped synthetic one: logits within a per-precision tolerance, the same argmax (except
// where the reference is a near-tie within that tolerance), and a batch gives each text the result
// it gets alone. Also: a child process with the ISA capped (oneDNN and senti's own kernels) still
// gives the right answers.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>

#include <gtest/gtest.h>

#include "model/synthetic_checkpoint.h"
#include "runtime/cpu/kernel_isa.h"
#include "runtime/cpu/packed_linear.h"
#include "runtime/cpu/precision.h"
#include "runtime/golden_util.h"
#include "senti/classifier.h"
#include "senti/error.h"
#include "senti/host_info.h"

namespace senti {
namespace {

// Largest |logit - fp32 reference| accepted, relative to the model's logit range (the largest
// |logit| over its goldens; rbt3-shaped synthetic: ~8.5, tiny: ~0.2), plus 1e-4. Measured worst
// cases on rbt3: bf16 0.062 (0.7% of the range), int8 0.30 (3.5%); the bounds leave about 2x.
float tolerance(const std::string& precision, float logit_range) {
  if (precision == "fp32") return 1e-4f;
  if (precision == "bf16") return 1e-4f + 0.015f * logit_range;
  return 1e-4f + 0.07f * logit_range;  // int8
}

float logit_range(const nlohmann::json& golden) {
  float range = 0.f;
  for (const auto& r : golden.at("records"))
    for (float v : r.at("logits").get<std::vector<float>>()) range = std::max(range, std::fabs(v));
  return range;
}

std::string resolved(const std::string& precision) {
  return cpu::precision_name(cpu::parse_precision(precision, detect_cpu_features()));
}

struct Model {
  nlohmann::json golden;
  std::filesystem::path dir;
};

// The rbt3-shaped checkpoint is generated once per test binary (about 0.2 s) and shared.
const Model& model_named(const std::string& name) {
  static std::map<std::string, Model> cache;
  static std::unique_ptr<test::TempDir> rbt3_dir;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  Model m;
  m.golden = test::read_json(test::test_data_dir() / ("goldens/" + name + "_logits.json"));
  if (name == "tiny") {
    m.dir = test::test_data_dir() / "models/tiny";
  } else {
    rbt3_dir = std::make_unique<test::TempDir>("precision-rbt3");
    write_synthetic_checkpoint(rbt3_dir->path(), rbt3_config(), m.golden.at("seed").get<std::uint64_t>(),
                               test::vocab_file());
    m.dir = rbt3_dir->path();
  }
  return cache.emplace(name, std::move(m)).first->second;
}

Classifier& classifier_for(const std::string& model, const std::string& precision) {
  static std::map<std::string, std::unique_ptr<Classifier>> cache;
  const std::string key = model + "/" + precision;
  auto it = cache.find(key);
  if (it != cache.end()) return *it->second;
  ClassifierOptions options;
  options.precision = precision;
  // One thread: results do not depend on it, and on a shared 2-core machine OpenMP barriers with a
  // preempted partner thread made this binary several times slower.
  options.num_threads = 1;
  auto classifier = std::make_unique<Classifier>(Classifier::load(model_named(model).dir, options));
  return *cache.emplace(key, std::move(classifier)).first->second;
}

bool host_runs(const std::string& precision) {
  const CpuFeatures f = detect_cpu_features();
  return cpu::host_supports(cpu::parse_precision(precision, f), f);
}

using test::argmax;
using test::max_abs_diff;

float margin(const std::vector<float>& v) {
  std::vector<float> sorted = v;
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  return sorted.size() > 1 ? sorted[0] - sorted[1] : INFINITY;
}

// Whether a text's logits in a batch must equal its logits alone bit for bit: the model's encoder
// matmuls (in `p`) run one kernel whatever the row count, or exact sums (int8), and its fp32 head
// runs senti's kernel for every row count (CpuBackend: wherever senti's fp32 kernel is enabled).
bool batch_is_exact(cpu::Precision p) {
  const bool one_kernel = cpu::senti_kernel_enabled(p) &&
                          cpu::default_senti_max_rows(p) == std::numeric_limits<std::size_t>::max();
  const bool encoder = p == cpu::Precision::kInt8 || one_kernel;
  return encoder && cpu::senti_kernel_enabled(cpu::Precision::kFp32);
}

using Param = std::tuple<std::string, std::string>;  // model, precision

class Precision : public ::testing::TestWithParam<Param> {};

TEST_P(Precision, LogitsAndArgmaxAgreeWithFp32Goldens) {
  const auto& [model, precision] = GetParam();
  if (!host_runs(precision)) GTEST_SKIP() << precision << " not supported on this CPU";
  Classifier& classifier = classifier_for(model, precision);
  // "auto" is measured at load (auto_precision_test covers the choice): check what it chose.
  const std::string actual = precision == "auto" ? classifier.precision() : resolved(precision);
  EXPECT_NE(classifier.backend_name().find("cpu-" + actual), std::string::npos) << classifier.backend_name();
  float worst = 0.f;
  std::size_t compared = 0, agree = 0, near_ties = 0;
  const float range = logit_range(model_named(model).golden);
  for (const auto& r : model_named(model).golden.at("records")) {
    // The 512-token records cost most of the time and add no coverage here (forward_golden_test
    // runs them in fp32).
    if (r.at("input_ids").size() > 128) continue;
    Encoding e;
    e.input_ids = r.at("input_ids").get<std::vector<int32_t>>();
    e.token_type_ids.assign(e.input_ids.size(), 0);
    const auto want = r.at("logits").get<std::vector<float>>();
    const Prediction p = classifier.classify(std::vector<Encoding>{e}).at(0);
    const float tol = tolerance(actual, range);
    const float diff = max_abs_diff(p.logits, want);
    EXPECT_LE(diff, tol) << r.at("id");
    worst = std::max(worst, diff);
    if (margin(want) < 2 * tol) {
      ++near_ties;
      continue;
    }
    ++compared;
    agree += argmax(p.logits) == argmax(want);
  }
  EXPECT_EQ(agree, compared);
  std::printf("[%s %s] %s: max |logit diff| vs fp32 goldens %.4g; argmax agrees %zu/%zu (%zu near-ties skipped)\n",
              model.c_str(), precision.c_str(), classifier.backend_name().c_str(), static_cast<double>(worst), agree,
              compared, near_ties);
}

TEST_P(Precision, BatchGivesEachTextItsSingleResult) {
  const auto& [model, precision] = GetParam();
  if (!host_runs(precision)) GTEST_SKIP() << precision << " not supported on this CPU";
  Classifier& classifier = classifier_for(model, precision);
  std::vector<std::string> texts = {"这件衣服的质量真的太棒了，非常满意！", "好", test::dev_texts().at(5),
                                    test::dev_texts().at(17), std::string(300, 'a'), test::dev_texts().at(40)};
  for (int i = 0; i < 30; ++i) texts.push_back(test::dev_texts().at(static_cast<std::size_t>(100 + i)));
  const auto batched = classifier.classify(texts);
  // Bit-exact by construction where every matmul of the model is one kernel for all row counts or
  // exact sums (int8; the fp32 pooler and classifier on senti's fp32 kernel): packed_linear.h.
  const bool exact = batch_is_exact(cpu::parse_precision(classifier.precision(), detect_cpu_features()));
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const Prediction alone = classifier.classify(std::vector<std::string>{texts[i]}).at(0);
    if (exact) {
      EXPECT_EQ(batched[i].logits, alone.logits) << i;
    } else {
      EXPECT_LE(max_abs_diff(batched[i].logits, alone.logits), 1e-4f) << i;
    }
    EXPECT_EQ(batched[i].label_id, alone.label_id) << i;
  }
  std::printf("[%s %s] batch == single: %s\n", model.c_str(), precision.c_str(), exact ? "bit for bit" : "within 1e-4");
}

INSTANTIATE_TEST_SUITE_P(All, Precision,
                         ::testing::Combine(::testing::Values("tiny", "rbt3"),
                                            ::testing::Values("fp32", "bf16", "int8", "auto")),
                         [](const auto& param_info) { return std::get<0>(param_info.param) + "_" + std::get<1>(param_info.param); });

TEST(PrecisionOption, UnknownPrecisionIsAClearError) {
  ClassifierOptions options;
  options.precision = "fp8";
  EXPECT_THROW(Classifier::load(model_named("tiny").dir, options), InvalidInputError);
}

TEST(PrecisionOption, AutoPicksTheFastestTheHostRuns) {
  CpuFeatures f;
  EXPECT_EQ(cpu::resolve_auto_precision(f), cpu::Precision::kFp32);
  f.avx2 = f.avx512f = f.avx512_bf16 = true;
  EXPECT_EQ(cpu::resolve_auto_precision(f), cpu::Precision::kBf16);
  f.avx512_vnni = true;
  EXPECT_EQ(cpu::resolve_auto_precision(f), cpu::Precision::kInt8);
  CpuFeatures avx2_only;
  avx2_only.avx2 = true;
  EXPECT_EQ(cpu::resolve_auto_precision(avx2_only), cpu::Precision::kFp32);
  EXPECT_FALSE(cpu::host_supports(cpu::Precision::kBf16, avx2_only));
}

}  // namespace
}  // namespace senti

namespace senti {
namespace {

// Runs this test binary again with the ISA capped for oneDNN (ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA)
// and for senti's kernels (SENTI_MAX_ISA); the child runs the IsaChild tests, which check the caps
// took effect and the answers are still right.
int run_child(const std::string& isa_env, const std::string& senti_isa) {
  const std::string command = "ONEDNN_MAX_CPU_ISA=" + isa_env + " DNNL_MAX_CPU_ISA=" + isa_env +
                              " SENTI_MAX_ISA=" + senti_isa + " SENTI_ISA_CHILD=" + senti_isa +
                              " SENTI_GEMM_ROWS=64" +  // senti's kernels take every record, whatever is faster
                              " '" + std::filesystem::read_symlink("/proc/self/exe").string() +
                              "' --gtest_filter='IsaChild.*' > /dev/null 2>&1";
  return std::system(command.c_str());
}

TEST(ForcedIsa, Avx2HostGivesTheSameAnswers) { EXPECT_EQ(run_child("AVX2", "avx2"), 0); }
TEST(ForcedIsa, ScalarKernelsGiveTheSameAnswers) { EXPECT_EQ(run_child("AVX2", "scalar"), 0); }
// AVX2 with AVX-VNNI: senti's int8 GEMM on 256-bit vpdpbusd.
TEST(ForcedIsa, AvxVnniInt8KernelGivesTheSameAnswers) {
  if (!detect_cpu_features().avx_vnni) GTEST_SKIP() << "host lacks AVX-VNNI";
  EXPECT_EQ(run_child("AVX2", "avx_vnni"), 0);
}

TEST(IsaChild, CappedIsaStillMatchesGoldens) {
  const char* child = std::getenv("SENTI_ISA_CHILD");
  if (child == nullptr) GTEST_SKIP() << "runs as ForcedIsa's child process";
  const std::string want_gemm = child;
  const std::string want_isa = want_gemm == "avx_vnni" ? "avx2" : want_gemm;  // elementwise kernels have no VNNI tier
  EXPECT_EQ(cpu::kernel_isa_name(cpu::kernel_isa()), want_isa);
  for (const std::string precision : {"fp32", "int8"}) {
    Classifier& classifier = classifier_for("rbt3", precision);
    const std::string name = classifier.backend_name();
    EXPECT_NE(name.find("kernels " + want_isa), std::string::npos) << name;
    if (cpu::senti_kernel_enabled(cpu::parse_precision(precision, detect_cpu_features()))) {
      // fp32 has no VNNI tier: capped at avx_vnni it runs the AVX2 kernel (found by tests/isa_emulation).
      const std::string want = precision == "fp32" && want_gemm == "avx_vnni" ? "avx2" : want_gemm;
      EXPECT_NE(name.find("matmul senti-" + precision + "-" + want), std::string::npos) << name;
    }
    EXPECT_EQ(name.find("avx512"), std::string::npos) << "oneDNN ignored the ISA cap: " << name;
    const float range = logit_range(model_named("rbt3").golden);
    int checked = 0;
    for (const auto& r : model_named("rbt3").golden.at("records")) {
      if (r.at("input_ids").size() > 64) continue;
      Encoding e;
      e.input_ids = r.at("input_ids").get<std::vector<int32_t>>();
      e.token_type_ids.assign(e.input_ids.size(), 0);
      const auto want = r.at("logits").get<std::vector<float>>();
      const Prediction p = classifier.classify(std::vector<Encoding>{e}).at(0);
      EXPECT_LE(max_abs_diff(p.logits, want), tolerance(precision, range)) << precision << " " << r.at("id");
      EXPECT_EQ(argmax(p.logits), argmax(want)) << precision << " " << r.at("id");
      ++checked;
    }
    EXPECT_GT(checked, 20);
  }
  // oneDNN 2.6 has no bf16 matmul below AVX-512: a clear error, not a crash or a slow reference path.
  ClassifierOptions options;
  options.precision = "bf16";
  try {
    Classifier::load(model_named("tiny").dir, options);
    ADD_FAILURE() << "bf16 loaded with oneDNN capped at AVX2";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bf16"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace senti
