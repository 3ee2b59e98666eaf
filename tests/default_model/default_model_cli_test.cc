// The real senti binary with the embedded default model: predict with no --model from another
// directory, eval on a small labelled file, classify (JSONL/CSV/text, resume after an interruption,
// malformed input named by line).
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
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

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_file(const std::filesystem::path& p, const std::string& s) {
  std::ofstream(p, std::ios::binary) << s;
}

// The binary with SENTI_MODEL unset, so the embedded default is what it finds.
const std::string kSenti = std::string("env -u SENTI_MODEL ") + SENTI_EXE;

struct Seed {
  const char* text;
  const char* label;
};
const std::vector<Seed> kSeeds = {{"这件衣服的质量真的太棒了，非常满意！", "positive"},
                                  {"物流速度太慢了，等了半个多月，差评。", "negative"},
                                  {"卖家服务态度很好，耐心解答我的问题。", "positive"},
                                  {"收到货后发现有破损，体验极差。", "negative"},
                                  {"性价比很高，值得推荐购买。", "positive"}};

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("senti-default-cli-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Row ids r0, r1, ... (appended, not "r" + string: GCC 12 raises a false -Wrestrict on that).
std::string row_id(std::size_t i) {
  std::string id = "r";
  id += std::to_string(i);
  return id;
}

std::string seeds_jsonl() {
  std::string s;
  for (std::size_t i = 0; i < kSeeds.size(); ++i)
    s += nlohmann::json{{"id", row_id(i)}, {"text", kSeeds[i].text},
                        {"label", std::string(kSeeds[i].label) == "positive" ? 1 : 0}}
             .dump() + "\n";
  return s;
}

TEST(DefaultModelCli, PredictsTheSeedSentencesFromAnyDirectory) {
  std::string args;
  for (const auto& s : kSeeds) args.append(" '").append(s.text).append("'");
  const Result r = run("cd / && " + kSenti + " predict --threads 1" + args);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), kSeeds.size());
  for (std::size_t i = 0; i < kSeeds.size(); ++i) {
    EXPECT_EQ(lines[i]["label"], kSeeds[i].label) << kSeeds[i].text;
    EXPECT_EQ(lines[i]["display_label"], std::string(kSeeds[i].label) == "positive" ? "正面" : "负面");
  }
}

TEST(DefaultModelCli, EvalReportsMetricsAsJson) {
  TempDir tmp;
  write_file(tmp / "seeds.jsonl", seeds_jsonl());
  const Result r = run(kSenti + " eval --threads 1 --json --batch-size 2 --data " + (tmp / "seeds.jsonl"));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["examples"], 5);
  EXPECT_DOUBLE_EQ(j["accuracy"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["macro_f1"].get<double>(), 1.0);
  EXPECT_EQ(j["confusion"], nlohmann::json::parse("[[2,0],[0,3]]"));
  EXPECT_EQ(j["classes"][1]["support"], 3);
  EXPECT_GT(j["texts_per_second"].get<double>(), 0.0);
  // The human report carries the same figures; no progress bar when stderr is not a terminal.
  const Result text = run(kSenti + " eval --threads 1 --data " + (tmp / "seeds.jsonl") + " 2>&1");
  ASSERT_EQ(text.status, 0) << text.out;
  EXPECT_NE(text.out.find("accuracy    1.0000"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("confusion matrix"), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find('\r'), std::string::npos);
}

TEST(DefaultModelCli, EvalNamesTheMalformedLine) {
  TempDir tmp;
  write_file(tmp / "bad.jsonl", "{\"text\": \"好\", \"label\": 1}\n\n{\"text\": \"差\", \"label\": 0\n");
  Result r = run(kSenti + " eval --threads 1 --data " + (tmp / "bad.jsonl") + " 2>&1");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("bad.jsonl:3: invalid JSON"), std::string::npos) << r.out;
  write_file(tmp / "nolabel.jsonl", "{\"text\": \"好\", \"label\": 1}\n{\"text\": \"差\"}\n");
  r = run(kSenti + " eval --threads 1 --data " + (tmp / "nolabel.jsonl") + " 2>&1");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("nolabel.jsonl:2: no \"label\" field"), std::string::npos) << r.out;
}

TEST(DefaultModelCli, ClassifiesJsonlAndResumesAfterATornWrite) {
  TempDir tmp;
  write_file(tmp / "in.jsonl", seeds_jsonl());
  const Result full = run(kSenti + " classify --threads 1 --batch-size 2 --input " + (tmp / "in.jsonl") + " --output " +
                          (tmp / "full.jsonl") + " 2>&1");
  ASSERT_EQ(full.status, 0) << full.out;
  const auto rows = json_lines(read_file(tmp.path() / "full.jsonl"));
  ASSERT_EQ(rows.size(), 5u);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i]["id"], row_id(i));
    EXPECT_EQ(rows[i]["text"], kSeeds[i].text);
    EXPECT_EQ(rows[i]["label"], kSeeds[i].label);
    EXPECT_GT(rows[i]["score"].get<double>(), 0.5);
  }
  // An interrupted run: two finished rows and half of the third. The rerun keeps the two rows byte
  // for byte, drops the torn one and writes the rest.
  std::istringstream lines(read_file(tmp.path() / "full.jsonl"));
  std::string l1, l2, l3;
  std::getline(lines, l1);
  std::getline(lines, l2);
  std::getline(lines, l3);
  const std::string kept = "{\"id\":\"r0\",\"label\":\"positive\",\"score\":0.5,\"text\":\"kept as is\"}\n" + l2 + "\n";
  write_file(tmp / "part.jsonl", kept + l3.substr(0, l3.size() / 2));
  // The same --batch-size as the full run, so rows 2-4 are computed in the same batches ([2, 3], [4]) and
  // their scores compare bit for bit (another batch shape may change a score's last bit).
  const Result resumed = run(kSenti + " classify --threads 1 --batch-size 2 --input " + (tmp / "in.jsonl") + " --output " +
                             (tmp / "part.jsonl") + " 2>&1");
  ASSERT_EQ(resumed.status, 0) << resumed.out;
  EXPECT_NE(resumed.out.find("resuming after 2 rows"), std::string::npos) << resumed.out;
  const std::string after = read_file(tmp.path() / "part.jsonl");
  EXPECT_EQ(after.substr(0, kept.size()), kept);
  const auto resumed_rows = json_lines(after);
  ASSERT_EQ(resumed_rows.size(), 5u);
  for (std::size_t i = 2; i < 5; ++i) EXPECT_EQ(resumed_rows[i], rows[i]);
  // Running again on a complete output adds nothing.
  ASSERT_EQ(run(kSenti + " classify --threads 1 --input " + (tmp / "in.jsonl") + " --output " + (tmp / "part.jsonl") + " 2>&1").status, 0);
  EXPECT_EQ(read_file(tmp.path() / "part.jsonl"), after);
  // An output that belongs to another input is refused, not appended to.
  write_file(tmp / "other.jsonl", "{\"id\":\"zzz\",\"text\":\"x\",\"label\":\"positive\",\"score\":0.9}\n");
  const Result other = run(kSenti + " classify --threads 1 --input " + (tmp / "in.jsonl") + " --output " + (tmp / "other.jsonl") + " 2>&1");
  EXPECT_EQ(other.status, 2);
  EXPECT_NE(other.out.find("does not continue"), std::string::npos) << other.out;
}

TEST(DefaultModelCli, ClassifiesCsvWithQuotesToCsv) {
  TempDir tmp;
  write_file(tmp / "in.csv",
             std::string("id,text,extra\r\n") +
             "a1,\"" + kSeeds[0].text + "\",x\r\n"
             "a2,\"物流速度太慢了，\"\"差评\"\", 等了半个多月\",y\r\n"
             "a3,\"收到货后发现有破损，\n体验极差。\",z\r\n");
  const Result r = run(kSenti + " classify --threads 1 --input " + (tmp / "in.csv") + " --output " + (tmp / "out.csv") + " 2>&1");
  ASSERT_EQ(r.status, 0) << r.out;
  const std::string out = read_file(tmp.path() / "out.csv");
  EXPECT_EQ(out.rfind("id,text,label,display_label,score,error\n", 0), 0u) << out;
  EXPECT_NE(out.find("a1,这件衣服的质量真的太棒了，非常满意！,positive,正面,"), std::string::npos) << out;
  EXPECT_NE(out.find("a2,\"物流速度太慢了，\"\"差评\"\", 等了半个多月\",negative,负面,"), std::string::npos) << out;
  EXPECT_NE(out.find("a3,\"收到货后发现有破损，\n体验极差。\",negative,负面,"), std::string::npos) << out;
  // Resume on CSV (a quoted newline inside a row must not be counted as a row boundary).
  const std::string complete = out;
  write_file(tmp / "part.csv", complete.substr(0, complete.find("a3,") + 5));
  const Result resumed = run(kSenti + " classify --threads 1 --input " + (tmp / "in.csv") + " --output " + (tmp / "part.csv") + " 2>&1");
  ASSERT_EQ(resumed.status, 0) << resumed.out;
  EXPECT_NE(resumed.out.find("resuming after 2 rows"), std::string::npos) << resumed.out;
  EXPECT_EQ(read_file(tmp.path() / "part.csv"), complete);
}

TEST(DefaultModelCli, ClassifiesTextLinesAndNamesMalformedInput) {
  TempDir tmp;
  write_file(tmp / "in.txt", std::string(kSeeds[1].text) + "\n\n" + kSeeds[2].text + "\n");
  const Result r = run(kSenti + " classify --threads 1 --input " + (tmp / "in.txt") + " --output " + (tmp / "out.jsonl") + " 2>&1");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto rows = json_lines(read_file(tmp.path() / "out.jsonl"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["id"], 1);  // line numbers
  EXPECT_EQ(rows[1]["id"], 3);
  EXPECT_EQ(rows[0]["label"], "negative");
  EXPECT_EQ(rows[1]["label"], "positive");

  write_file(tmp / "bad.jsonl", "{\"text\": \"好\"}\nnot json\n");
  const Result bad = run(kSenti + " classify --threads 1 --input " + (tmp / "bad.jsonl") + " --output " + (tmp / "o.jsonl") + " 2>&1");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.out.find("bad.jsonl:2: invalid JSON"), std::string::npos) << bad.out;
  write_file(tmp / "nofield.csv", "id,body\n1,好\n");
  const Result nofield = run(kSenti + " classify --threads 1 --input " + (tmp / "nofield.csv") + " --output " + (tmp / "o.jsonl") + " 2>&1");
  EXPECT_EQ(nofield.status, 2);
  EXPECT_NE(nofield.out.find("no column named 'text'"), std::string::npos) << nofield.out;
  // A text the tokenizer rejects (invalid UTF-8) gets an error row; the others are classified.
  write_file(tmp / "utf8.txt", std::string("好评\n\xff\xfe bad\n差评\n"));
  const Result utf8 = run(kSenti + " classify --threads 1 --input " + (tmp / "utf8.txt") + " --output " + (tmp / "u.jsonl") + " 2>&1");
  EXPECT_EQ(utf8.status, 2) << utf8.out;
  const auto urows = json_lines(read_file(tmp.path() / "u.jsonl"));
  ASSERT_EQ(urows.size(), 3u);
  EXPECT_TRUE(urows[1].contains("error"));
  EXPECT_TRUE(urows[0].contains("label"));
  EXPECT_TRUE(urows[2].contains("label"));
}

}  // namespace
