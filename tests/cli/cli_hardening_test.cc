// The CLI defects of issue 8, each reproduced with the real senti binary: empty texts, outputs that
// are devices, invalid UTF-8 in JSONL, huge malformed lines, calibration labels, tokenize, usage.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/run_command.h"
#include "common/sanitized_build.h"

namespace {

namespace fs = std::filesystem;
using Result = senti::test::CommandResult;
using senti::test::json_lines;
using nlohmann::json;

Result run(const std::string& command) { return senti::test::run_command(command); }

const std::string kSenti = SENTI_EXE;
const std::string kTiny = std::string(SENTI_TEST_DATA_DIR) + "/models/tiny";

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() / ("senti_cli_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(CliUsage, BareSentiPrintsHelpAndExits2) {
  const Result r = run(kSenti + " 2>&1");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("Subcommands"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tokenize"), std::string::npos) << r.out;
}

// "", "   " and control/zero-width characters only: no tokens, so an error line (exit 2), not a prediction.
TEST(CliEmptyText, PredictRejectsTextsWithoutTokens) {
  Result r = run(kSenti + " predict --model " + kTiny + " '' '   ' 'ok'");
  EXPECT_EQ(r.status, 2) << r.out;
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  for (int i : {0, 1}) {
    EXPECT_NE(lines[static_cast<std::size_t>(i)].value("error", "").find("the text is empty"), std::string::npos) << lines[i];
    EXPECT_FALSE(lines[static_cast<std::size_t>(i)].contains("label"));
  }
  EXPECT_TRUE(lines[2].contains("label"));
  // U+0000 U+200B, and a tab with zero-width spaces, on stdin.
  r = run("printf '\\000\\342\\200\\213\\n\\t\\342\\200\\213\\342\\200\\213\\nfine\\n' | " + kSenti + " predict --model " + kTiny);
  EXPECT_EQ(r.status, 2) << r.out;
  lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_TRUE(lines[0].contains("error")) << lines[0];
  EXPECT_TRUE(lines[1].contains("error")) << lines[1];
  EXPECT_TRUE(lines[2].contains("label"));
}

TEST(CliEmptyText, ClassifyAndEvalApplyTheSameRule) {
  TempDir tmp;
  const std::string in = tmp.file("in.jsonl"), out = tmp.file("out.jsonl");
  write(in, "{\"text\": \"\"}\n{\"text\": \"   \"}\n{\"text\": \"\\u0000\\u200b\"}\n{\"text\": \"好\"}\n");
  Result r = run(kSenti + " classify --model " + kTiny + " --input " + in + " --output " + out + " 2>&1");
  EXPECT_EQ(r.status, 2) << r.out;
  const auto rows = json_lines(read(out));
  ASSERT_EQ(rows.size(), 4u);
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_NE(rows[i].value("error", "").find("the text is empty"), std::string::npos) << rows[i];
  EXPECT_TRUE(rows[3].contains("label"));

  write(in, "{\"text\": \"好\", \"label\": 1}\n{\"text\": \"  \", \"label\": 0}\n");
  r = run(kSenti + " eval --model " + kTiny + " --data " + in + " 2>&1");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("in.jsonl:2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("the text is empty"), std::string::npos) << r.out;
}

// --output /dev/full was read whole to find a resume point (2 GB, then "cannot get file size").
TEST(CliClassify, DeviceOutputsAreWrittenNotResumed) {
  TempDir tmp;
  const std::string in = tmp.file("in.txt");
  write(in, "好\n差\n一般\n");
  Result r = run("timeout 60 " + kSenti + " classify --model " + kTiny + " --input " + in + " --output /dev/null 2>&1");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.find("resuming"), std::string::npos) << r.out;
  r = run("timeout 60 " + kSenti + " classify --model " + kTiny + " --input " + in + " --output /dev/full 2>&1");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("/dev/full"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("No space left on device"), std::string::npos) << r.out;
  EXPECT_LT(r.out.size(), 1000u) << r.out;
}

// README: a text that is not valid UTF-8 gets an error row and the run goes on (exit 2 at the end);
// JSONL used to stop at that line with "invalid JSON" and write nothing.
TEST(CliClassify, InvalidUtf8InAJsonlLineGetsAnErrorRow) {
  TempDir tmp;
  const std::string in = tmp.file("in.jsonl"), out = tmp.file("out.jsonl");
  write(in, "{\"id\": \"a\", \"text\": \"好\"}\n{\"id\": \"b\", \"text\": \"bad \xff\xfe bytes\"}\n{\"id\": \"c\", \"text\": \"差\"}\n");
  const Result r = run(kSenti + " classify --model " + kTiny + " --input " + in + " --output " + out + " 2>&1");
  EXPECT_EQ(r.status, 2) << r.out;
  const auto rows = json_lines(read(out));
  ASSERT_EQ(rows.size(), 3u) << read(out);
  EXPECT_EQ(rows[0]["id"], "a");
  EXPECT_TRUE(rows[0].contains("label"));
  EXPECT_EQ(rows[1]["id"], "b");
  EXPECT_NE(rows[1].value("error", "").find("UTF-8"), std::string::npos) << rows[1];
  EXPECT_EQ(rows[2]["id"], "c");
  EXPECT_TRUE(rows[2].contains("label"));
}

// A 50 MB malformed line was echoed whole into the error message. Messages quote ~200 bytes at most.
TEST(CliErrors, HugeMalformedLinesAreQuotedBriefly) {
  TempDir tmp;
  const std::string in = tmp.file("in.jsonl"), out = tmp.file("out.jsonl");
  write(in, "{\"text\": \"ok\", \"label\": 1}\n{\"text\": \"" + std::string(5 << 20, 'a') + " oops\n");
  for (const std::string& cmd :
       {kSenti + " classify --model " + kTiny + " --input " + in + " --output " + out,
        kSenti + " eval --model " + kTiny + " --data " + in,
        kSenti + " compile " + kTiny + " -o " + tmp.file("m.senti") + " --precision fp32 --calibration " + in}) {
    const Result r = run(cmd + " 2>&1 >/dev/null");
    EXPECT_EQ(r.status, 2) << cmd << ": " << r.out.substr(0, 500);
    EXPECT_NE(r.out.find("in.jsonl:2"), std::string::npos) << r.out.substr(0, 500);
    EXPECT_LT(r.out.size(), 1000u) << cmd;
  }
}

// Peak resident set of `command` (run by /bin/sh, replaced by it through exec), in kB.
long peak_rss_kb(const std::string& command) {
  const std::string line = "exec " + command;
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  if (pid < 0 || wait4(pid, &status, 0, &usage) != pid) return -1;
  return usage.ru_maxrss;
}

// A JSONL line of millions of '[' became as many nested arrays before anything looked at it (~300 MB
// for this 8 MB line). Refused by depth first, in the three commands that read JSONL.
TEST(CliErrors, DeeplyNestedJsonlLinesAreRefusedWithoutBuildingThem) {
  TempDir tmp;
  const std::string deep = tmp.file("deep.jsonl"), plain = tmp.file("plain.jsonl"), out = tmp.file("out.jsonl");
  const std::string first = "{\"text\": \"ok\", \"label\": 1}\n";
  write(deep, first + std::string(4 << 20, '[') + std::string(4 << 20, ']') + "\n");
  write(plain, first);
  for (const std::string& cmd :
       {kSenti + " classify --model " + kTiny + " --output " + out + " --input ",
        kSenti + " eval --model " + kTiny + " --data ",
        kSenti + " compile " + kTiny + " -o " + tmp.file("m.senti") + " --precision fp32 --calibration "}) {
    const Result r = run(cmd + deep + " 2>&1 >/dev/null");
    EXPECT_EQ(r.status, 2) << cmd << ": " << r.out.substr(0, 500);
    EXPECT_NE(r.out.find("deep.jsonl:2: JSON nested deeper than 64 levels"), std::string::npos) << r.out.substr(0, 500);
    // Memory: against the same command on a one-line file (the binary alone is ~200 MB resident when
    // it links the CUDA libraries). The line itself costs ~16-24 MB; its DOM would be ~300 MB.
    std::filesystem::remove(out);
    const long base = peak_rss_kb(cmd + plain + " >/dev/null 2>&1");
    std::filesystem::remove(out);
    const long with_deep = peak_rss_kb(cmd + deep + " >/dev/null 2>&1");
    ASSERT_GT(base, 0);
    EXPECT_LT(with_deep - base, 100L * 1024 + senti::test::kRssSlackKb) << cmd << ": peak RSS " << with_deep << " kB vs " << base;
  }
}

// A copy of the tiny model with display names (负面/正面), as the default model has.
std::string tiny_with_display(const TempDir& tmp) {
  const fs::path dir = tmp.path() / "tiny-display";
  fs::create_directories(dir);
  for (const auto& f : fs::directory_iterator(kTiny)) fs::copy_file(f.path(), dir / f.path().filename());
  json config = json::parse(read((dir / "config.json").string()));
  config["senti_label_display"] = {{"0", "负面"}, {"1", "正面"}};
  write((dir / "config.json").string(), config.dump());
  return dir.string();
}

// compile --calibration rejected 正面 (which eval accepts), without a line number, and left its output.
TEST(CliCompile, CalibrationTakesEvalsLabelsAndFailsCleanly) {
  TempDir tmp;
  const std::string model = tiny_with_display(tmp);
  const std::string calib = tmp.file("calib.jsonl"), out = tmp.file("model.senti");
  write(calib, "{\"text\": \"好\", \"label\": \"正面\"}\n{\"text\": \"差\", \"label\": \"negative\"}\n"
               "{\"text\": \"很好\", \"label\": 1}\n{\"text\": \"还行\", \"label\": \"0\"}\n");
  Result r = run(kSenti + " eval --model " + model + " --data " + calib + " 2>&1");
  ASSERT_EQ(r.status, 0) << r.out;
  r = run(kSenti + " compile " + model + " -o " + out + " --precision fp32 --calibration " + calib + " 2>&1");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("accuracy on 4 labelled texts"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::is_regular_file(out));
  fs::remove(out);

  write(calib, "{\"text\": \"好\", \"label\": \"正面\"}\n{\"text\": \"一般\", \"label\": \"中性\"}\n");
  r = run(kSenti + " compile " + model + " -o " + out + " --precision fp32 --calibration " + calib + " 2>&1");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("calib.jsonl:2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("unknown label \"中性\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("正面"), std::string::npos) << "lists the labels it knows: " << r.out;
  // Nothing left behind: no output, no temporary file.
  std::vector<std::string> left;
  for (const auto& f : fs::directory_iterator(tmp.path()))
    if (f.path().filename().string().find("model.senti") != std::string::npos) left.push_back(f.path().string());
  EXPECT_TRUE(left.empty()) << left.front();
}

TEST(CliCompile, DefaultsToTheEmbeddedModel) {
  TempDir tmp;
  const std::string out = tmp.file("default.senti");
  const Result r = run(kSenti + " compile -o " + out + " --precision fp32 2>&1");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("senti-zh-sentiment"), std::string::npos) << r.out;
  const Result p = run(kSenti + " predict --model " + out + " '质量很好'");
  EXPECT_EQ(p.status, 0) << p.out;
}

TEST(CliModel, RandomFileIsNeitherKindOfModel) {
  TempDir tmp;
  const std::string file = tmp.file("random.senti");
  write(file, std::string(4096, 'z'));
  const Result r = run(kSenti + " predict --model " + file + " x 2>&1");
  EXPECT_EQ(r.status, 3) << r.out;
  EXPECT_NE(r.out.find("not a senti compiled model"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("does not exist"), std::string::npos) << r.out;
}

TEST(CliPredict, MaxLengthAboveTheModelIsAnError) {
  const Result r = run(kSenti + " predict --model " + kTiny + " --max-length 600 x 2>&1");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("max_position_embeddings 512"), std::string::npos) << r.out;
}

TEST(CliTokenize, PrintsTokensIdsAndTruncation) {
  Result r = run(kSenti + " tokenize --model " + kTiny + " '这件衣服' 'Bad service!'");
  ASSERT_EQ(r.status, 0) << r.out;
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["tokens"], json({"[CLS]", "这", "件", "衣", "服", "[SEP]"}));
  EXPECT_EQ(lines[0]["input_ids"].size(), 6u);
  EXPECT_EQ(lines[0]["input_ids"][0], 101);  // [CLS] in the bert-base-chinese vocabulary
  EXPECT_EQ(lines[0]["input_ids"][5], 102);  // [SEP]
  EXPECT_EQ(lines[0]["token_type_ids"], json({0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(lines[0]["truncated"], false);
  EXPECT_EQ(lines[1]["tokens"][1], "bad");  // lower-cased, punctuation split
  EXPECT_EQ(lines[1]["tokens"].back(), "[SEP]");
  // The same ids as predict counts.
  const Result p = run(kSenti + " predict --model " + kTiny + " '这件衣服'");
  EXPECT_EQ(json_lines(p.out).at(0)["tokens"], 6);

  r = run("printf '这件衣服的质量\\n\\n' | " + kSenti + " tokenize --model " + kTiny + " --max-length 4");
  EXPECT_EQ(r.status, 2) << r.out;  // the blank line is an empty text
  lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["tokens"], json({"[CLS]", "这", "件", "[SEP]"}));
  EXPECT_EQ(lines[0]["truncated"], true);
  EXPECT_NE(lines[1].value("error", "").find("the text is empty"), std::string::npos);
}

}  // namespace
