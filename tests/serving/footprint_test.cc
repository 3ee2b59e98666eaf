// A lean `senti serve` (issue 18, item 4): the default model, after a few requests, stays under a
// resident-memory bound in fp32 and int8, and the senti binary links no CUDA library (the CUDA backend
// is the plugin libsenti_cuda.so, loaded only when a GPU is found), nor maps one without a GPU.
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/run_command.h"
#include "common/sanitized_build.h"
#include "serving/http_client.h"
#include "serving/server_process.h"

namespace senti::test {
namespace {

using namespace std::chrono_literals;

// The bound issue 18 sets for the default model (17 MB of fp32 weights). Measured on an AVX2 host:
// fp32 VmRSS 44.5 MB (VmHWM 48.9), int8 43.4 MB; 197 / 191 MB when senti linked cuBLASLt.
constexpr long kMaxRssKb = 64L * 1024;

const std::string kDefaultModel = std::string(SENTI_SOURCE_DIR) + "/models/senti-zh-sentiment";

// A field of /proc/PID/status in kB (VmRSS, VmHWM), -1 when unknown.
long status_kb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  return -1;
}

std::string maps_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Resident kB of the mappings of files whose path ends with `suffix` (/proc/PID/smaps), -1 when none
// is mapped (ASan builds read weights files into the heap).
long mapped_file_rss_kb(pid_t pid, const std::string& suffix) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps");
  std::string line;
  long total = -1;
  bool in_file = false;
  while (std::getline(in, line)) {
    if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) && line.find('-') != std::string::npos &&
        line.find(':') > line.find(' ')) {  // a mapping's header line: "start-end perms offset dev inode path"
      in_file = line.size() >= suffix.size() && line.compare(line.size() - suffix.size(), suffix.size(), suffix) == 0;
      if (in_file && total < 0) total = 0;
    } else if (in_file && line.rfind("Rss:", 0) == 0) {
      total += std::stol(line.substr(4));
    }
  }
  return total;
}

bool has_cuda_library(const std::string& text) {
  for (const char* name : {"libcublas", "libcudart", "libcuda.so", "libsenti_cuda", "libnvrtc"})
    if (text.find(name) != std::string::npos) return true;
  return false;
}

class Footprint : public ::testing::TestWithParam<std::string> {};

TEST_P(Footprint, ServeOfTheDefaultModelStaysSmall) {
  const std::string precision = GetParam();
  // auto measures every precision at load (one candidate alive at a time), not the cached choice.
  if (precision == "auto") ::setenv("SENTI_AUTO_PRECISION", "measure", 1);
  ServerProcess server({"--model", kDefaultModel, "--precision", precision, "--device", "auto", "--no-ui"});
  ::unsetenv("SENTI_AUTO_PRECISION");
  ASSERT_NE(server.port(), 0) << server.log();
  // --device auto loads the CUDA plugin only where a GPU answers: the bound is for a CPU-only serve.
  if (server.log().find("\"device\":\"cuda\"") != std::string::npos) GTEST_SKIP() << "serving on a GPU here";
  HttpClient client(server.port(), 30s);
  for (const char* text : {"这件衣服的质量真的太棒了，非常满意！", "太差了，再也不买了", "一般般吧"}) {
    for (int i = 0; i < 5; ++i) {
      const auto r = client.post("/predict", nlohmann::json{{"inputs", text}}.dump());
      ASSERT_EQ(r.status, 200) << r.body;
    }
  }
  const auto batch = client.post("/predict", nlohmann::json{{"inputs", std::vector<std::string>(8, "还不错，物流很快")}}.dump());
  ASSERT_EQ(batch.status, 200) << batch.body;
  const long rss = status_kb(server.pid(), "VmRSS"), hwm = status_kb(server.pid(), "VmHWM");
  std::printf("[%s] senti serve of the default model: VmRSS %ld kB, VmHWM %ld kB\n", precision.c_str(), rss, hwm);
  EXPECT_GT(rss, 0);
  EXPECT_LE(rss, kMaxRssKb + kRssSlackKb);
  // Measuring auto holds the fp32 candidate (17 MB of packed weights) for a moment: 72 MB measured.
  EXPECT_LE(hwm, (precision == "auto" ? 96L * 1024 : kMaxRssKb) + kRssSlackKb);
  // The packed copies serve; the checkpoint's pages were dropped after packing (they come back only as
  // embedding rows and norms are read): far less than the 17 MB file stays resident.
  const long weights_rss = mapped_file_rss_kb(server.pid(), "/model.safetensors");
  std::printf("[%s] resident pages of model.safetensors: %ld kB\n", precision.c_str(), weights_rss);
  if (weights_rss >= 0) {
    EXPECT_LE(weights_rss, 4L * 1024);
  }
  // Serving on the CPU: nothing of CUDA's is mapped.
  EXPECT_FALSE(has_cuda_library(maps_of(server.pid()))) << "a CPU-only serve maps a CUDA library";
}

INSTANTIATE_TEST_SUITE_P(DefaultModel, Footprint, ::testing::Values("fp32", "int8", "auto"));

TEST(Footprint, SentiLinksNoCudaLibrary) {
  const CommandResult ldd = run_command("ldd '" + std::string(SENTI_EXE) + "' 2>&1");
  ASSERT_EQ(ldd.status, 0) << ldd.out;
  EXPECT_FALSE(has_cuda_library(ldd.out)) << ldd.out;
#ifdef SENTI_CUDA_PLUGIN
  // Built with CUDA: the plugin lies beside the binary and is what links cuBLASLt.
  const CommandResult plugin = run_command("ldd '" + std::string(SENTI_CUDA_PLUGIN) + "' 2>&1");
  ASSERT_EQ(plugin.status, 0) << plugin.out;
  EXPECT_NE(plugin.out.find("libcublasLt"), std::string::npos) << plugin.out;
#endif
}

}  // namespace
}  // namespace senti::test
