// --device on every command that runs a model, and `senti info`'s CUDA lines, through the real binary.
// On a host without a usable GPU (or a build without CUDA), --device cuda is a clear error with exit
// status 3 (a model error) and --device auto runs on the CPU; with a GPU, auto runs on it.
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "common/run_command.h"

namespace {

using senti::test::run_command;

const std::string kSenti = SENTI_EXE;
const std::string kTiny = std::string(SENTI_TEST_DATA_DIR) + "/models/tiny";

nlohmann::json info() {
  const auto r = run_command(kSenti + " info --json");
  EXPECT_EQ(r.status, 0) << r.out;
  return nlohmann::json::parse(r.out);
}

bool cuda_usable() { return info()["cuda"]["status"] == "ok"; }

TEST(CudaCli, InfoReportsTheCudaState) {
  const auto j = info();
  ASSERT_TRUE(j["cuda"].contains("runtime"));
  ASSERT_TRUE(j["cuda"].contains("driver"));
  const std::string status = j["cuda"]["status"];
  if (status != "ok") {
    EXPECT_EQ(status.rfind("no CUDA device (", 0), 0u) << status;
  } else {
    EXPECT_FALSE(j["cuda"]["gpus"].empty());
  }
  // The CUDA runtime is the plugin's (libsenti_cuda.so beside senti, built with CUDA), loaded to ask.
  const std::string runtime = j["cuda"]["runtime"];
#ifdef SENTI_HAVE_CUDA_PLUGIN
  EXPECT_NE(runtime.find("(plugin)"), std::string::npos) << runtime;
#else
  EXPECT_EQ(runtime, "no plugin");
  EXPECT_NE(status.find("no CUDA plugin"), std::string::npos) << status;
#endif
  const auto text = run_command(kSenti + " info");
  ASSERT_EQ(text.status, 0);
  EXPECT_NE(text.out.find("CUDA runtime"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("CUDA backend"), std::string::npos) << text.out;
}

class CudaCliCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("senti-cuda-cli-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "data.jsonl") << "{\"text\": \"质量很好\", \"label\": 1}\n{\"text\": \"太差了\", \"label\": 0}\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const char* name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

TEST_F(CudaCliCommands, DeviceCudaWithoutAGpuIsAClearError) {
  if (cuda_usable()) GTEST_SKIP() << "a CUDA GPU is usable here";
  const std::string model = " --model " + kTiny + " --device cuda";
  const std::string data = path("data.jsonl");
  for (const std::string& command :
       {kSenti + " predict" + model + " 'x'", kSenti + " eval" + model + " --data " + data,
        kSenti + " classify" + model + " --input " + data + " --output " + path("out.jsonl"),
        kSenti + " bench" + model + " --input " + data + " --runs 1", kSenti + " serve" + model + " --port 0",
        kSenti + " compile " + kTiny + " -o " + path("m.senti") + " --device cuda"}) {
    const auto r = run_command(command + " 2>&1");
    EXPECT_EQ(r.status, 3) << command << "\n" << r.out;
    EXPECT_NE(r.out.find("--device cuda: "), std::string::npos) << command << "\n" << r.out;
  }
}

TEST_F(CudaCliCommands, DeviceAutoRunsWhereCudaIs) {
  const auto automatic = run_command(kSenti + " predict --model " + kTiny + " --device auto '质量很好'");
  const auto cpu = run_command(kSenti + " predict --model " + kTiny + " --device cpu --precision fp32 '质量很好'");
  ASSERT_EQ(automatic.status, 0) << automatic.out;
  ASSERT_EQ(cpu.status, 0) << cpu.out;
  const auto a = senti::test::json_lines(automatic.out).at(0), c = senti::test::json_lines(cpu.out).at(0);
  EXPECT_EQ(a["label"], c["label"]);
  const auto bench = run_command(kSenti + " bench --model " + kTiny + " --device auto --json --runs 1 --input " +
                                 path("data.jsonl"));
  ASSERT_EQ(bench.status, 0) << bench.out;
  const std::string backend = nlohmann::json::parse(bench.out)["backend"];
  EXPECT_EQ(backend.rfind(cuda_usable() ? "cuda-" : "cpu-", 0), 0u) << backend;
}

TEST_F(CudaCliCommands, UnknownDeviceIsRejected) {
  const auto r = run_command(kSenti + " predict --model " + kTiny + " --device tpu 'x' 2>&1");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("--device"), std::string::npos) << r.out;
}

}  // namespace
