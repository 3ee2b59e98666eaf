// senti compile's file: a compiled model gives exactly the folder's answers at the same precision,
// loads fast, and every damaged or foreign file is a clear ModelError (never a crash).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "model/compiled_file.h"
#include "model/synthetic_checkpoint.h"
#include "runtime/compile.h"
#include "runtime/cpu/compiled_cpu_model.h"
#include "runtime/cpu/precision.h"
#include "senti/checkpoint.h"
#include "runtime/golden_util.h"
#include "senti/classifier.h"
#include "senti/error.h"
#include "senti/host_info.h"

namespace senti {
namespace {

const std::filesystem::path kTiny = test::test_data_dir() / "models/tiny";

test::TempDir& temp() {
  static test::TempDir dir("compile-test");
  return dir;
}

bool host_runs(const std::string& precision) {
  const CpuFeatures f = detect_cpu_features();
  return cpu::host_supports(cpu::parse_precision(precision, f), f);
}

ClassifierOptions with(const std::string& precision) {
  ClassifierOptions o;
  o.precision = precision;
  o.num_threads = 1;
  return o;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

const std::vector<std::string>& texts() {
  static const std::vector<std::string> t = [] {
    std::vector<std::string> v = {"这件衣服的质量真的太棒了，非常满意！", "好", "", std::string(200, 'x')};
    for (std::size_t i = 0; i < 12; ++i) v.push_back(test::dev_texts().at(i * 7));
    return v;
  }();
  return t;
}

std::filesystem::path compiled_tiny(const std::string& precision) {
  const auto path = temp().path() / ("tiny-" + precision + ".senti");
  if (!std::filesystem::exists(path)) compile_model(kTiny, path, precision);
  return path;
}

class RoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(RoundTrip, CompiledFileGivesTheFoldersResults) {
  const std::string precision = GetParam();
  if (!host_runs(precision)) GTEST_SKIP() << precision << " not supported here";
  const auto path = compiled_tiny(precision);
  EXPECT_TRUE(model::is_compiled_model_file(path));
  Classifier folder = Classifier::load(kTiny, with(precision));
  Classifier compiled = Classifier::load(path, with("auto"));
  EXPECT_EQ(compiled.backend_name(), folder.backend_name());
  EXPECT_EQ(compiled.config().labels, folder.config().labels);
  EXPECT_EQ(compiled.config().label_display, folder.config().label_display);
  EXPECT_EQ(compiled.max_length(), folder.max_length());
  const auto a = folder.classify(texts());
  const auto b = compiled.classify(texts());
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].num_tokens, b[i].num_tokens) << i;  // same tokenizer settings and vocab
    for (std::size_t k = 0; k < a[i].logits.size(); ++k) EXPECT_EQ(a[i].logits[k], b[i].logits[k]) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Precisions, RoundTrip, ::testing::Values("fp32", "bf16", "int8"));

// int8 files compiled before 2026-12-03 hold the pooler in fp32 (cpu::pooler_precision): such a file
// (rebuilt here: today's int8 file with its pooler replaced by the fp32 one) still loads, and its
// answers are the int8 folder's up to the pooler's quantisation.
TEST(Compile, Int8FileWithAnFp32PoolerStillLoads) {
  if (!host_runs("int8")) GTEST_SKIP() << "int8 not supported here";
  const auto current = compiled_tiny("int8");
  const auto file = model::CompiledFile::open(current);
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  const Checkpoint checkpoint = Checkpoint::load(kTiny);
  cpu::CpuModel model = cpu::load_cpu_model(engine, *file, checkpoint.config());
  ASSERT_EQ(model.head.at(0).data().precision, cpu::Precision::kInt8);
  const LinearWeights& pooler = checkpoint.weights().pooler;
  model.head.at(0) = cpu::PackedLinear(engine, pooler.weight.data, pooler.bias.data, pooler.weight.shape.at(0),
                                       pooler.weight.shape.at(1), cpu::Activation::kTanh, cpu::Precision::kFp32);
  model::CompiledFileWriter writer;
  nlohmann::json metadata = file->metadata();
  metadata.erase("tensors");
  metadata.update(cpu::add_cpu_model(model, writer));
  const auto older = temp().path() / "tiny-int8-fp32-pooler.senti";
  writer.write(older, metadata);

  const auto reloaded = model::CompiledFile::open(older);
  EXPECT_EQ(cpu::load_cpu_model(engine, *reloaded, checkpoint.config()).head.at(0).data().precision,
            cpu::Precision::kFp32);
  Classifier folder = Classifier::load(kTiny, with("int8"));
  Classifier compiled = Classifier::load(older, with("auto"));
  const auto a = folder.classify(texts());
  const auto b = compiled.classify(texts());
  ASSERT_EQ(a.size(), b.size());
  bool any_differs = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    for (std::size_t k = 0; k < a[i].logits.size(); ++k) {
      EXPECT_NEAR(a[i].logits[k], b[i].logits[k], 0.05f) << i;
      any_differs |= a[i].logits[k] != b[i].logits[k];
    }
  }
  EXPECT_TRUE(any_differs) << "the fp32 pooler was not used";
}

TEST(Compile, Rbt3LoadsFastAndAgreesWithFp32) {
  test::TempDir dir("compile-rbt3");
  write_synthetic_checkpoint(dir.path(), rbt3_config(), 1, test::vocab_file());
  const std::string precision = host_runs("int8") ? "int8" : "fp32";
  const auto path = dir.path() / "rbt3.senti";
  compile_model(dir.path(), path, precision);
  Classifier::load(path, with("auto"));  // page cache warm, as for a server restart
  const auto start = std::chrono::steady_clock::now();
  Classifier compiled = Classifier::load(path, with("auto"));
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("rbt3 %s compiled model: %.1f MB, load %.1f ms\n", precision.c_str(),
              static_cast<double>(std::filesystem::file_size(path)) / 1e6, ms);
  EXPECT_LT(ms, 2000.0);  // target 200 ms; the bound leaves room for a loaded CI machine
  Classifier fp32 = Classifier::load(dir.path(), with("fp32"));
  const auto a = fp32.classify(texts());
  const auto b = compiled.classify(texts());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].label_id, b[i].label_id) << i;
}

TEST(Compile, AskingForAnotherPrecisionIsAClearError) {
  const auto path = compiled_tiny("fp32");
  try {
    Classifier::load(path, with("int8"));
    FAIL() << "loaded";
  } catch (const InvalidInputError& e) {
    EXPECT_NE(std::string(e.what()).find("compiled for fp32"), std::string::npos) << e.what();
  }
}

void expect_model_error(const std::filesystem::path& path, const std::string& fragment) {
  try {
    Classifier::load(path, with("auto"));
    FAIL() << "loaded a damaged file; expected an error containing: " << fragment;
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(Compile, OtherFormatVersionIsRefusedNamingBothVersions) {
  std::string bytes = read_file(compiled_tiny("fp32"));
  const uint32_t future = model::kCompiledFormatVersion + 1;
  std::memcpy(bytes.data() + 8, &future, sizeof future);
  const auto path = temp().path() / "future.senti";
  write_file(path, bytes);
  expect_model_error(path, "format version " + std::to_string(future) + ", but this senti reads version " +
                               std::to_string(model::kCompiledFormatVersion));
}

TEST(Compile, TruncatedFilesAreClearErrors) {
  const std::string bytes = read_file(compiled_tiny("fp32"));
  const auto path = temp().path() / "truncated.senti";
  // Cut inside the header, the metadata, the first tensor and the last one.
  for (std::size_t keep : {std::size_t{20}, std::size_t{100}, bytes.size() / 3, bytes.size() - 1}) {
    write_file(path, bytes.substr(0, keep));
    SCOPED_TRACE(keep);
    expect_model_error(path, "truncated");
  }
}

TEST(Compile, CorruptHeaderAndMetadataAreClearErrors) {
  const std::string good = read_file(compiled_tiny("fp32"));
  const auto path = temp().path() / "corrupt.senti";
  std::string bytes = good;
  const uint64_t huge = uint64_t{1} << 60;
  std::memcpy(bytes.data() + 16, &huge, sizeof huge);  // metadata length beyond the file
  write_file(path, bytes);
  expect_model_error(path, "truncated or corrupt");

  bytes = good;
  bytes[41] = '#';  // breaks the JSON
  write_file(path, bytes);
  expect_model_error(path, "corrupt compiled-model metadata");

  // A tensor offset pointing past the data section (same-length edit of the JSON).
  bytes = good;
  const auto at = bytes.find("\"offset\":0,");
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at, 11, "\"offset\":9,");
  write_file(path, bytes);
  expect_model_error(path, "outside");

  // Numbers where integers belong: a tensor size of 9e99 (converting it to an integer was undefined
  // behaviour: found by senti_file_fuzzer) and a tokenizer length of 5e2 (a float, however whole).
  bytes = good;
  std::size_t digits_at = 0, digits = 0;  // the first tensor size of at least 4 digits
  for (auto s = bytes.find("\"size\":"); s != std::string::npos && digits < 4; s = bytes.find("\"size\":", s + 1)) {
    digits_at = s + 7;
    digits = bytes.find_first_not_of("0123456789", digits_at) - digits_at;
  }
  ASSERT_GE(digits, 4u);
  std::string float_size(digits - 2, '0');  // "9", digits - 4 zeros, "e99": as long as the size it replaces
  float_size.front() = '9';
  float_size.back() = 'e';
  bytes.replace(digits_at, digits, float_size + "99");
  write_file(path, bytes);
  expect_model_error(path, "expected an integer");

  bytes = good;
  const auto length_at = bytes.find("\"model_max_length\":512");
  ASSERT_NE(length_at, std::string::npos);
  bytes.replace(length_at + 19, 3, "5e2");
  write_file(path, bytes);
  expect_model_error(path, "expected an integer");
}

// Random single-byte damage anywhere in the header and metadata: every load either works (the byte
// was in a string, say) or fails with a senti::Error; nothing else is thrown and nothing crashes.
TEST(Compile, RandomHeaderDamageNeverCrashes) {
  const std::string good = read_file(compiled_tiny("fp32"));
  uint64_t data_offset = 0;
  std::memcpy(&data_offset, good.data() + 24, sizeof data_offset);
  ASSERT_LT(data_offset, good.size());
  const auto path = temp().path() / "fuzz.senti";
  uint64_t state = 0x9E3779B97F4A7C15ull;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int loaded = 0, refused = 0;
  for (int i = 0; i < 300; ++i) {
    std::string bytes = good;
    const std::size_t at = next() % data_offset;
    bytes[at] = static_cast<char>(next() & 0xff);
    write_file(path, bytes);
    try {
      Classifier c = Classifier::load(path, with("auto"));
      c.classify(std::vector<std::string>{"好"});
      ++loaded;
    } catch (const Error&) {
      ++refused;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "byte " << at << ": not a senti::Error: " << e.what();
    }
  }
  std::printf("random header damage: %d loaded, %d refused with a senti error\n", loaded, refused);
  EXPECT_GT(refused, 0);
}

TEST(Compile, CliCompilesAndReportsAgreement) {
  const auto out = temp().path() / "cli.senti";
  const auto calibration = temp().path() / "calibration.jsonl";
  write_file(calibration, "{\"text\": \"好\", \"label\": 1}\n{\"text\": \"差\", \"label\": \"negative\"}\n{\"text\": \"一般\"}\n");
  const std::string command = std::string(SENTI_EXE) + " compile " + kTiny.string() + " -o " + out.string() +
                              " --precision fp32 --threads 1 --calibration " + calibration.string() + " > " +
                              (temp().path() / "cli.txt").string() + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << read_file(temp().path() / "cli.txt");
  const std::string output = read_file(temp().path() / "cli.txt");
  EXPECT_NE(output.find("argmax agreement with fp32: 3/3"), std::string::npos) << output;
  EXPECT_NE(output.find("accuracy on 2 labelled texts"), std::string::npos) << output;
  EXPECT_TRUE(model::is_compiled_model_file(out));
}

}  // namespace
}  // namespace senti

namespace senti {
namespace {

// A file packed for this host's AVX-512 kernels, loaded where oneDNN is capped at AVX2: fp32 is
// re-packed on load and gives the same labels; int8 (8-bit weights for VNNI) is refused clearly.
TEST(Compile, FileFromAnotherIsaIsRepackedOrRefused) {
  if (std::getenv("SENTI_COMPILE_CHILD") != nullptr) {
    const auto dir = std::filesystem::path(std::getenv("SENTI_COMPILE_CHILD"));
    Classifier repacked = Classifier::load(dir / "tiny-fp32.senti", with("auto"));
    EXPECT_NE(repacked.backend_name().find("re-packed"), std::string::npos) << repacked.backend_name();
    Classifier folder = Classifier::load(kTiny, with("fp32"));
    const auto a = folder.classify(texts());
    const auto b = repacked.classify(texts());
    for (std::size_t i = 0; i < a.size(); ++i)
      for (std::size_t k = 0; k < a[i].logits.size(); ++k) EXPECT_NEAR(a[i].logits[k], b[i].logits[k], 1e-5) << i;
    if (std::filesystem::exists(dir / "tiny-int8.senti")) {
      try {
        Classifier::load(dir / "tiny-int8.senti", with("auto"));
        ADD_FAILURE() << "int8 packed for VNNI loaded without VNNI";
      } catch (const ModelError& e) {
        EXPECT_NE(std::string(e.what()).find("VNNI"), std::string::npos) << e.what();
      }
    }
    return;
  }
  if (detect_host().onednn_isa.find("AVX-512") == std::string::npos) GTEST_SKIP() << "needs an AVX-512 host";
  compiled_tiny("fp32");
  const bool vnni = detect_cpu_features().avx512_vnni;
  if (vnni) compiled_tiny("int8");
  const std::string command = "SENTI_COMPILE_CHILD='" + temp().path().string() +
                              "' ONEDNN_MAX_CPU_ISA=AVX2 DNNL_MAX_CPU_ISA=AVX2 '" +
                              std::filesystem::read_symlink("/proc/self/exe").string() +
                              "' --gtest_filter=Compile.FileFromAnotherIsaIsRepackedOrRefused > '" +
                              (temp().path() / "child.txt").string() + "' 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << read_file(temp().path() / "child.txt");
}

}  // namespace
}  // namespace senti
