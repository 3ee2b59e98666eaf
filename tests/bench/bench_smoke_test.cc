// Smoke test of `senti bench` (the C++ side of bench/; no Python): runs the real binary on the tiny
// model in both modes and checks that the report is complete and consistent.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/run_command.h"

namespace {

using Result = senti::test::CommandResult;

Result run(const std::string& command) { return senti::test::run_command(command); }

const std::string kSenti = SENTI_EXE;
const std::string kTiny = std::string(SENTI_TEST_DATA_DIR) + "/models/tiny";
const std::vector<std::string> kTexts = {
    "这件衣服的质量真的太棒了，非常满意！", "物流速度太慢了，等了半个多月，差评。", "卖家服务态度很好，耐心解答我的问题。",
    "收到货后发现有破损，体验极差。",     "性价比很高，值得推荐购买。",         "bad service",
    "很长的一段评论，" + std::string(60, 'x') + " 还有更多的字：好还是不好？"};

// CTest runs the cases as parallel processes: each case gets its own file names.
std::string temp_path(const std::string& name) {
  const std::string test = testing::UnitTest::GetInstance()->current_test_info()->name();
  return (std::filesystem::path(testing::TempDir()) / (test + "_" + name)).string();
}

// The texts as .jsonl (the format of the shared data) and as .txt.
std::string write_inputs(bool jsonl) {
  const std::string path = temp_path(jsonl ? "bench_smoke.jsonl" : "bench_smoke.txt");
  std::ofstream out(path);
  for (const auto& t : kTexts) out << (jsonl ? nlohmann::json{{"label", 1}, {"text", t}}.dump() : t) << "\n";
  return path;
}

std::vector<int> read_ids(const std::string& path) {
  std::ifstream in(path);
  std::vector<int> ids;
  int id = 0;
  while (in >> id) ids.push_back(id);
  return ids;
}

void expect_common_fields(const nlohmann::json& r, const std::string& mode) {
  EXPECT_EQ(r["mode"], mode);
  EXPECT_EQ(r["texts"], kTexts.size());
  EXPECT_EQ(r["runs"], 2);
  EXPECT_EQ(r["threads"], 1);
  EXPECT_EQ(r["max_length"], 16);
  // --precision auto: the backend names what auto resolved to (int8 with VNNI, bf16, else fp32).
  EXPECT_EQ(std::string(r["backend"]).rfind("cpu-", 0), 0u) << r["backend"];
  EXPECT_FALSE(std::string(r["cpu_model"]).empty());
  EXPECT_GT(static_cast<double>(r["load_ms"]), 0.0);
  EXPECT_EQ(r["tokens"]["max"], 16);  // the long text is truncated at --max-length
  EXPECT_GE(static_cast<double>(r["tokens"]["mean"]), 4.0);
}

TEST(SentiBench, LatencyModeReportsOrderedPercentilesAndPredictions) {
  const std::string input = write_inputs(false);
  const std::string preds = temp_path("bench_latency_preds.txt");
  const Result r = run(kSenti + " bench --model " + kTiny + " --input " + input +
                       " --runs 2 --warmup 1 --threads 1 --max-length 16 --json --predictions-out " + preds);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  expect_common_fields(j, "latency");
  EXPECT_EQ(j["requests"], 2 * kTexts.size());
  const auto& total = j["latency_ms"];
  EXPECT_EQ(total["count"], 2 * kTexts.size());
  EXPECT_GT(static_cast<double>(total["min"]), 0.0);
  EXPECT_LE(static_cast<double>(total["min"]), static_cast<double>(total["p50"]));
  EXPECT_LE(static_cast<double>(total["p50"]), static_cast<double>(total["p90"]));
  EXPECT_LE(static_cast<double>(total["p90"]), static_cast<double>(total["p99"]));
  EXPECT_LE(static_cast<double>(total["p99"]), static_cast<double>(total["max"]));
  // Each request's tokenization and inference are parts of its total.
  EXPECT_LE(static_cast<double>(j["tokenize_ms"]["p50"]), static_cast<double>(total["p50"]));
  EXPECT_LE(static_cast<double>(j["inference_ms"]["p50"]), static_cast<double>(total["p50"]));
  EXPECT_EQ(j["run_p50_ms"].size(), 2u);

  // The argmax ids are the ones `senti predict` gives for the same texts at the same max length.
  const std::vector<int> ids = read_ids(preds);
  ASSERT_EQ(ids.size(), kTexts.size());
  const Result p = run("cat " + input + " | " + kSenti + " predict --max-length 16 --model " + kTiny);
  ASSERT_EQ(p.status, 0) << p.out;
  std::istringstream lines(p.out);
  std::string line;
  for (std::size_t i = 0; i < kTexts.size(); ++i) {
    ASSERT_TRUE(std::getline(lines, line));
    const std::string label = nlohmann::json::parse(line)["label"];
    EXPECT_EQ(ids[i], label == "positive" ? 1 : 0) << kTexts[i];
  }
}

TEST(SentiBench, ThroughputModeBatchesAndAgreesWithBatchOne) {
  const std::string input = write_inputs(true);
  const std::string preds = temp_path("bench_throughput_preds.txt");
  const std::string latency_preds = temp_path("bench_latency_preds2.txt");
  const Result r = run(kSenti + " bench --mode throughput --model " + kTiny + " --input " + input +
                       " --runs 2 --threads 1 --max-length 16 --batch-tokens 40 --max-batch 3 --json --predictions-out " +
                       preds);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  expect_common_fields(j, "throughput");
  EXPECT_GE(static_cast<int>(j["batches"]), 3);  // 7 texts, at most 3 per batch
  EXPECT_LE(static_cast<int>(j["largest_batch"]), 3);
  EXPECT_GT(static_cast<double>(j["texts_per_s"]), 0.0);
  EXPECT_GE(static_cast<double>(j["inference_texts_per_s"]), static_cast<double>(j["texts_per_s"]));
  EXPECT_GT(static_cast<double>(j["tokens_per_s"]), static_cast<double>(j["texts_per_s"]));
  ASSERT_EQ(j["texts_per_s_runs"].size(), 2u);

  // Same labels, in input order, as one text at a time.
  const Result l = run(kSenti + " bench --model " + kTiny + " --input " + input +
                       " --runs 1 --warmup 0 --threads 1 --max-length 16 --json --predictions-out " + latency_preds);
  ASSERT_EQ(l.status, 0) << l.out;
  EXPECT_EQ(read_ids(preds), read_ids(latency_preds));
  EXPECT_EQ(read_ids(preds).size(), kTexts.size());
}

TEST(SentiBench, TableOutputNamesBackendAndPercentiles) {
  const Result r = run(kSenti + " bench --model " + kTiny + " --input " + write_inputs(false) + " --runs 1 --threads 1");
  ASSERT_EQ(r.status, 0) << r.out;
  for (const char* key : {"backend", "cpu", "threads", "p50", "p99", "tokenization", "inference"})
    EXPECT_NE(r.out.find(key), std::string::npos) << key << "\n" << r.out;
}

TEST(SentiBench, BadInputIsAClearError) {
  const Result missing = run(kSenti + " bench --model " + kTiny + " --input /nonexistent/texts.jsonl 2>&1");
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.out.find("/nonexistent/texts.jsonl"), std::string::npos) << missing.out;
  const Result precision = run(kSenti + " bench --model " + kTiny + " --input x --precision fp64 2>&1");
  EXPECT_NE(precision.status, 0);
  EXPECT_NE(precision.out.find("precision"), std::string::npos) << precision.out;
}

}  // namespace
