// Runs the real senti binary as a user would and checks what it prints and its exit status.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/run_command.h"

namespace {

using Result = senti::test::CommandResult;
using senti::test::json_lines;

Result run(const std::string& command) { return senti::test::run_command(command); }

const std::string kSenti = SENTI_EXE;
const std::string kTiny = std::string(SENTI_TEST_DATA_DIR) + "/models/tiny";

TEST(CliPredict, PrintsOneJsonLinePerArgument) {
  const Result r = run(kSenti + " predict --model " + kTiny + " '这件衣服的质量真的太棒了' 'bad service'");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["text"], "这件衣服的质量真的太棒了");
  EXPECT_EQ(lines[1]["text"], "bad service");
  for (const auto& line : lines) {
    const std::string label = line["label"];
    EXPECT_TRUE(label == "negative" || label == "positive") << line;
    const double score = line["score"];
    EXPECT_DOUBLE_EQ(score, static_cast<double>(line["scores"][label]));
    EXPECT_NEAR(static_cast<double>(line["scores"]["negative"]) + static_cast<double>(line["scores"]["positive"]),
                1.0, 1e-5);
    EXPECT_GE(score, 0.5);
    EXPECT_GT(static_cast<double>(line["latency_ms"]), 0.0);
  }
  EXPECT_EQ(lines[0]["tokens"], 14);  // [CLS] + 12 characters + [SEP]
  EXPECT_EQ(lines[1]["tokens"], 4);   // [CLS] bad service [SEP]
}

TEST(CliPredict, ReadsStdinAndMatchesArgumentResults) {
  const Result single = run(kSenti + " predict --model " + kTiny + " '物流速度太慢了，等了半个多月，差评。'");
  ASSERT_EQ(single.status, 0);
  const Result piped =
      run("printf 'short\\n物流速度太慢了，等了半个多月，差评。\\nanother line\\n' | " + kSenti + " predict --model " + kTiny);
  ASSERT_EQ(piped.status, 0) << piped.out;
  const auto lines = json_lines(piped.out);
  ASSERT_EQ(lines.size(), 3u);
  const auto expected = json_lines(single.out).at(0);
  EXPECT_EQ(lines[1]["text"], expected["text"]);
  EXPECT_EQ(lines[1]["label"], expected["label"]);
  EXPECT_NEAR(static_cast<double>(lines[1]["scores"]["positive"]),
              static_cast<double>(expected["scores"]["positive"]), 1e-5);
}

TEST(CliPredict, InvalidUtf8LineIsReportedNotFatal) {
  const Result r = run("printf 'ok\\n\\377\\376 bad\\nfine\\n' | " + kSenti + " predict --model " + kTiny);
  EXPECT_EQ(r.status, 2);
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_TRUE(lines[0].contains("label"));
  ASSERT_TRUE(lines[1].contains("error"));
  EXPECT_NE(std::string(lines[1]["error"]).find("UTF-8"), std::string::npos) << lines[1];
  EXPECT_TRUE(lines[2].contains("label"));
}

TEST(CliPredict, MissingModelFolderIsAClearError) {
  const Result r = run(kSenti + " predict --model /nonexistent/model 'x' 2>&1");
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.out.find("/nonexistent/model"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("config.json"), std::string::npos) << r.out;
}

TEST(CliInfo, ReportsCpuIsaAndOneDnn) {
  const Result r = run(kSenti + " info --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto info = nlohmann::json::parse(r.out);
  EXPECT_FALSE(std::string(info["cpu"]["model"]).empty());
  EXPECT_GE(static_cast<int>(info["cpu"]["logical_cores"]), 1);
  EXPECT_TRUE(info["isa"].contains("amx_int8"));
  EXPECT_TRUE(info["isa"].contains("avx512_bf16"));
  EXPECT_EQ(std::string(info["onednn"]["version"]).rfind("2.", 0) == 0 ||
                std::string(info["onednn"]["version"]).rfind("3.", 0) == 0,
            true);
  // Cross-check one flag with the kernel's own view of the CPU.
  std::ifstream cpuinfo("/proc/cpuinfo");
  const std::string text((std::istreambuf_iterator<char>(cpuinfo)), std::istreambuf_iterator<char>());
  EXPECT_EQ(static_cast<bool>(info["isa"]["avx2"]), text.find(" avx2") != std::string::npos);
  EXPECT_EQ(static_cast<bool>(info["isa"]["amx_int8"]), text.find(" amx_int8") != std::string::npos);
}

TEST(CliInfo, TextReportNamesTheIsaLines) {
  const Result r = run(kSenti + " info");
  ASSERT_EQ(r.status, 0);
  for (const char* key : {"AVX2", "AVX-512", "AVX512-BF16", "AMX-BF16", "AMX-INT8", "VNNI", "oneDNN", "CUDA"})
    EXPECT_NE(r.out.find(key), std::string::npos) << key;
}

}  // namespace
