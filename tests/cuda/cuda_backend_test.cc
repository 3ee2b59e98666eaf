// The CUDA backend end to end against the CPU fp32 backend: every precision on the tiny model and the
// default model (golden texts, plus data/sentiment/test.jsonl when the repository has it), batch ==
// single, and CUDA-graph replay == eager. Skips without a usable GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cuda/gpu_test_util.h"
#include "runtime/cuda/cuda_backend.h"
#include "runtime/golden_util.h"
#include "senti/checkpoint.h"
#include "senti/classifier.h"

namespace senti {
namespace {

std::filesystem::path default_model() { return std::filesystem::path(SENTI_SOURCE_DIR) / "models/senti-zh-sentiment"; }

// Texts of the golden records (those stored with their text) and of the committed test split.
std::vector<std::string> texts_for(const std::string& golden_name) {
  std::vector<std::string> texts;
  const auto golden = test::read_json(test::test_data_dir() / ("goldens/" + golden_name + "_logits.json"));
  for (const auto& record : golden.at("records"))
    if (record.contains("text")) texts.push_back(record.at("text").get<std::string>());
  const auto split = std::filesystem::path(SENTI_SOURCE_DIR) / "data/sentiment/test.jsonl";
  if (golden_name == "senti_zh_sentiment" && std::filesystem::exists(split)) {
    std::ifstream in(split);
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) texts.push_back(nlohmann::json::parse(line).at("text").get<std::string>());
  }
  return texts;
}

struct Comparison {
  float max_probability_diff = 0;
  std::size_t argmax_disagreements = 0;
  std::size_t count = 0;
};

Comparison compare(const std::vector<Prediction>& a, const std::vector<Prediction>& b) {
  Comparison c;
  c.count = a.size();
  for (std::size_t i = 0; i < a.size(); ++i) {
    c.max_probability_diff = std::max(c.max_probability_diff, test::max_abs_diff(a[i].scores, b[i].scores));
    if (a[i].label_id != b[i].label_id) ++c.argmax_disagreements;
  }
  return c;
}

Classifier load(const std::filesystem::path& dir, const std::string& device, const std::string& precision) {
  ClassifierOptions options;
  options.device = device;
  options.precision = precision;
  return Classifier::load(dir, options);
}

class CudaVsCpu : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaVsCpu, MatchesCpuFp32) {
  SENTI_SKIP_WITHOUT_GPU();
  const std::string precision = GetParam();
  for (const auto& [dir, golden] : {std::pair{test::test_data_dir() / "models/tiny", std::string("tiny")},
                                    std::pair{default_model(), std::string("senti_zh_sentiment")}}) {
    const std::vector<std::string> texts = texts_for(golden);
    ASSERT_FALSE(texts.empty());
    Classifier cpu = load(dir, "cpu", "fp32");
    Classifier gpu = load(dir, "cuda", precision);
    EXPECT_EQ(gpu.device(), "cuda");
    EXPECT_EQ(gpu.precision(), precision);
    const Comparison c = compare(cpu.classify(texts), gpu.classify(texts));
    const float bound = precision == "fp32" ? 1e-4f : 2e-3f;
    EXPECT_LE(c.max_probability_diff, bound) << golden << " " << precision << " over " << c.count << " texts";
    EXPECT_EQ(c.argmax_disagreements, 0u) << golden << " " << precision << " over " << c.count << " texts";
    std::cout << "[ cuda ] " << golden << " " << precision << ": " << c.count << " texts, max |dp| "
              << c.max_probability_diff << ", argmax disagreements " << c.argmax_disagreements << "\n";
  }
}

INSTANTIATE_TEST_SUITE_P(Precisions, CudaVsCpu, ::testing::Values("fp32", "fp16", "bf16"));

TEST(CudaBackend, BatchEqualsSingle) {
  SENTI_SKIP_WITHOUT_GPU();
  Classifier gpu = load(default_model(), "cuda", "fp16");
  std::vector<std::string> texts = texts_for("senti_zh_sentiment");
  texts.resize(std::min<std::size_t>(texts.size(), 200));
  const std::vector<Prediction> batched = gpu.classify(texts);
  std::vector<Prediction> single;
  for (const auto& text : texts) single.push_back(gpu.classify(std::vector<std::string>{text}).front());
  const Comparison c = compare(batched, single);
  // Different buckets may pick different GEMM algorithms: equal up to fp16 rounding, same labels.
  EXPECT_LE(c.max_probability_diff, 2e-3f);
  EXPECT_EQ(c.argmax_disagreements, 0u);
}

// Graph replay gives the logits of the eager run of the same bucket, and the GPU softmax matches the host's.
TEST(CudaBackend, GraphReplayEqualsEager) {
  SENTI_SKIP_WITHOUT_GPU();
  const Checkpoint checkpoint = Checkpoint::load(default_model());
  const BertTokenizer tokenizer = BertTokenizer::from_folder(default_model(), 512);
  cuda::CudaEngineOptions with_graphs, eager;
  eager.use_graphs = false;
  cuda::CudaBackend graphed(checkpoint, with_graphs), plain(checkpoint, eager);
  const std::size_t labels = checkpoint.config().num_labels();
  const std::vector<std::string> texts = texts_for("senti_zh_sentiment");
  for (std::size_t batch_size : {1u, 3u, 17u}) {
    PackedBatch batch;
    for (std::size_t i = 0; i < batch_size && i < texts.size(); ++i) {
      const Encoding e = tokenizer.encode(texts[i], std::nullopt, 128);
      batch.input_ids.insert(batch.input_ids.end(), e.input_ids.begin(), e.input_ids.end());
      batch.token_type_ids.insert(batch.token_type_ids.end(), e.token_type_ids.begin(), e.token_type_ids.end());
      batch.offsets.push_back(batch.input_ids.size());
    }
    std::vector<float> first(batch.num_sequences() * labels), replay(first.size()), reference(first.size());
    graphed.forward(batch, first.data());   // eager, then captured
    graphed.forward(batch, replay.data());  // graph launch
    plain.forward(batch, reference.data());
    // The same kernels and GEMM algorithms run either way: equal up to cuBLASLt's reduction order (it may
    // split K with a different order between calls); the log says whether they are bit-identical.
    EXPECT_LE(test::max_abs_diff(first, replay), 1e-5f) << batch_size;
    EXPECT_LE(test::max_abs_diff(replay, reference), 1e-5f) << batch_size;
    std::cout << "[ cuda ] batch " << batch_size << ": graph replay " << (first == replay ? "bit-identical" : "differs")
              << " to its eager run, " << (replay == reference ? "bit-identical" : "differs") << " to a graph-free backend\n";
    const std::vector<float> probabilities = graphed.last_probabilities();
    for (std::size_t s = 0; s < batch.num_sequences(); ++s) {
      float max = replay[s * labels], total = 0;
      for (std::size_t l = 1; l < labels; ++l) max = std::max(max, replay[s * labels + l]);
      for (std::size_t l = 0; l < labels; ++l) total += std::exp(replay[s * labels + l] - max);
      for (std::size_t l = 0; l < labels; ++l)
        EXPECT_NEAR(probabilities[s * labels + l], std::exp(replay[s * labels + l] - max) / total, 1e-6);
    }
  }
  EXPECT_EQ(graphed.graphs_captured(), 3u);
}

TEST(CudaBackend, RejectsInt8AndCompiledFiles) {
  SENTI_SKIP_WITHOUT_GPU();
  EXPECT_THROW(load(default_model(), "cuda", "int8"), InvalidInputError);
}

}  // namespace
}  // namespace senti
