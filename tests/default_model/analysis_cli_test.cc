// senti predict and classify with --explain, --granularity and --long-text on the default model: the
// HTTP API's vocabulary in their JSON, spans that index the text in code points, the human output,
// sentence rows with their record's id, resuming sentence rows, and bad values as clear errors.
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/run_command.h"

namespace {

using Result = senti::test::CommandResult;
using senti::test::json_lines;

Result run(const std::string& command) { return senti::test::run_command(command); }

const std::string kSenti = std::string("env -u SENTI_MODEL ") + SENTI_EXE;
const std::string kPredict = kSenti + " predict --threads 1 ";

// A text with emoji (outside the BMP), Latin words and CJK, in three sentences.
const std::string kMixed = "物流太慢了😡，三天才到！但是质量很好，做工精细。The fit is great 👍";

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_file(const std::filesystem::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("senti-analysis-cli-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

std::string quoted(const std::string& s) {
  std::string out = "'";
  return out.append(s).append("'");
}

// text[start:end] in code points (as Python slices a str).
std::string slice(const std::string& text, std::size_t start, std::size_t end) {
  std::vector<std::size_t> bytes;
  for (std::size_t b = 0; b < text.size(); ++b)
    if ((static_cast<unsigned char>(text[b]) & 0xC0) != 0x80) bytes.push_back(b);
  bytes.push_back(text.size());
  if (end >= bytes.size() || start > end) return "<out of range>";
  return text.substr(bytes[start], bytes[end] - bytes[start]);
}

std::set<std::string> keys(const nlohmann::json& j) {
  std::set<std::string> out;
  for (const auto& [k, v] : j.items()) out.insert(k);
  return out;
}

const std::set<std::string> kWordKeys = {"text", "start", "end", "weight"};
const std::set<std::string> kSentenceKeys = {"text", "start", "end", "label", "score"};

// About 1,000 characters: longer than the model's 512-token window.
std::string long_text() {
  std::string text;
  for (int i = 0; i < 30; ++i) text += "物流太慢了，等了半个多月才到。包装也破了，客服不理人。";
  return text;
}

TEST(AnalysisCli, PredictJsonCarriesTheApiVocabulary) {
  const Result r = run(kPredict + "--explain --granularity sentence --long-text chunk " + quoted(kMixed));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 1u);
  const auto& j = lines[0];
  EXPECT_EQ(j["text"], kMixed);
  EXPECT_EQ(j["chunks"], 1);
  ASSERT_GT(j["explanation"].size(), 20u);
  for (const auto& w : j["explanation"]) {
    EXPECT_EQ(keys(w), kWordKeys) << w;
    EXPECT_EQ(slice(kMixed, w["start"], w["end"]), w["text"].get<std::string>()) << w;
  }
  // The emoji and the Latin words are words of their own.
  std::set<std::string> words;
  for (const auto& w : j["explanation"]) words.insert(w["text"].get<std::string>());
  for (const char* word : {"😡", "fit", "great", "👍", "慢"}) EXPECT_TRUE(words.count(word)) << word;
  ASSERT_EQ(j["sentences"].size(), 3u);
  for (const auto& s : j["sentences"]) {
    EXPECT_EQ(keys(s), kSentenceKeys) << s;
    EXPECT_EQ(slice(kMixed, s["start"], s["end"]), s["text"].get<std::string>()) << s;
  }
  EXPECT_EQ(j["sentences"][0]["text"], "物流太慢了😡，三天才到！");
  EXPECT_EQ(j["sentences"][0]["label"], "negative");
  // The whole text's fields are predict's as ever.
  const auto plain = json_lines(run(kPredict + quoted(kMixed)).out);
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(j["label"], plain[0]["label"]);
  EXPECT_NEAR(j["score"].get<double>(), plain[0]["score"].get<double>(), 1e-4);
  EXPECT_EQ(keys(plain[0]), (std::set<std::string>{"text", "label", "display_label", "score", "scores", "tokens",
                                                   "truncated", "latency_ms"}));
}

TEST(AnalysisCli, PredictSentencesEqualPredictingEachSentence) {
  const auto j = json_lines(run(kPredict + "--granularity sentence " + quoted(kMixed)).out).at(0);
  EXPECT_FALSE(j.contains("explanation"));
  EXPECT_FALSE(j.contains("chunks"));
  std::string args;
  for (const auto& s : j["sentences"]) args.append(" ").append(quoted(s["text"].get<std::string>()));
  const auto alone = json_lines(run(kPredict + args).out);
  ASSERT_EQ(alone.size(), j["sentences"].size());
  for (std::size_t i = 0; i < alone.size(); ++i) {
    EXPECT_EQ(j["sentences"][i]["label"], alone[i]["label"]);
    EXPECT_NEAR(j["sentences"][i]["score"].get<double>(), alone[i]["score"].get<double>(), 1e-4);
  }
}

TEST(AnalysisCli, PredictChunksALongText) {
  const std::string text = long_text();
  const auto truncated = json_lines(run(kPredict + quoted(text)).out).at(0);
  EXPECT_TRUE(truncated["truncated"].get<bool>());
  const auto chunked = json_lines(run(kPredict + "--long-text chunk " + quoted(text)).out).at(0);
  EXPECT_FALSE(chunked["truncated"].get<bool>());
  EXPECT_GT(chunked["chunks"].get<int>(), 1);
  EXPECT_GT(chunked["tokens"].get<int>(), 512);
  EXPECT_EQ(chunked["label"], "negative");
  EXPECT_FALSE(chunked.contains("sentences"));
}

TEST(AnalysisCli, PredictReadsStdinWithTheFlags) {
  const Result r = run("printf '质量很好\\n\\n物流太慢了。包装破了\\n' | " + kPredict + "--granularity sentence --batch-size 2");
  EXPECT_EQ(r.status, 2) << r.out;  // the empty line is an error line; the others are classified
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["sentences"].size(), 1u);
  EXPECT_EQ(lines[1]["error_type"], "validation");
  EXPECT_EQ(lines[2]["sentences"].size(), 2u);
}

TEST(AnalysisCli, PredictHumanOutput) {
  const Result r = run(kPredict + "--human --explain --granularity sentence --long-text chunk '质量很好。物流太慢了'");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << "no colour when stdout is not a terminal";
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 5u) << r.out;
  EXPECT_EQ(lines[0].rfind("negative 0.", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find(" 负面  质量很好。物流太慢了"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[1].rfind("  words    质", 0), 0u) << lines[1];
  EXPECT_NE(lines[1].find(" 慢(+0."), std::string::npos) << lines[1];  // supports the negative label
  EXPECT_EQ(lines[2].rfind("  sentence [0,5) positive 0.", 0), 0u) << lines[2];
  EXPECT_EQ(lines[3].rfind("  sentence [5,10) negative 0.", 0), 0u) << lines[3];
  EXPECT_EQ(lines[4], "  chunks   1");
  // Without the analysis flags: one line per text.
  const Result plain = run(kPredict + "--human 质量很好 物流太慢了");
  ASSERT_EQ(plain.status, 0) << plain.out;
  EXPECT_EQ(std::count(plain.out.begin(), plain.out.end(), '\n'), 2) << plain.out;
  EXPECT_EQ(plain.out.rfind("positive 0.", 0), 0u) << plain.out;
  EXPECT_NE(plain.out.find(" 正面  质量很好\nnegative 0."), std::string::npos) << plain.out;
  // --human and --json exclude each other; --json is the default output.
  EXPECT_NE(run(kPredict + "--human --json 好 2>&1").status, 0);
  EXPECT_EQ(json_lines(run(kPredict + "--json 好").out).size(), 1u);
}

TEST(AnalysisCli, PredictHumanColoursOnlyOnATerminal) {
  if (std::system("command -v script >/dev/null 2>&1") != 0) GTEST_SKIP() << "no script(1) to give a terminal";
  const std::string command = kPredict + "--human --explain 质量很好但是物流太慢了";
  // script(1) runs the command with stdout on a pseudo-terminal.
  const Result tty = run("env -u NO_COLOR script -qec " + quoted(command) + " /dev/null");
  ASSERT_EQ(tty.status, 0) << tty.out;
  EXPECT_NE(tty.out.find("\x1b[32m"), std::string::npos) << tty.out;  // green: toward positive
  EXPECT_NE(tty.out.find("\x1b[31m"), std::string::npos) << tty.out;  // red: toward negative
  const Result no_colour = run("NO_COLOR=1 script -qec " + quoted(command) + " /dev/null");
  ASSERT_EQ(no_colour.status, 0) << no_colour.out;
  EXPECT_EQ(no_colour.out.find('\x1b'), std::string::npos) << no_colour.out;
}

TEST(AnalysisCli, BadValuesAreClearErrors) {
  for (const std::string command : {"predict --granularity paragraph 好", "predict --long-text wrap 好",
                                    "classify --granularity paragraph --input /nonexistent.jsonl --output /tmp/x.jsonl"}) {
    const Result r = run(kSenti + " " + command + " 2>&1");
    EXPECT_EQ(r.status, 2) << command << ": " << r.out;
    const bool granularity = command.find("paragraph") != std::string::npos;
    EXPECT_NE(r.out.find(granularity ? "unknown granularity \"paragraph\": use text or sentence"
                                     : "unknown long_text \"wrap\": use truncate or chunk"),
              std::string::npos)
        << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "one line: " << r.out;
  }
}

TEST(AnalysisCli, ClassifySentenceRowsCarryTheirRecord) {
  TempDir tmp;
  write_file(tmp / "in.jsonl", nlohmann::json{{"id", "a"}, {"text", kMixed}}.dump() + "\n" +
                                   nlohmann::json{{"id", "b"}, {"text", "   "}}.dump() + "\n" +
                                   nlohmann::json{{"id", "c"}, {"text", "质量很好"}}.dump() + "\n");
  const Result r = run(kSenti + " classify --threads 1 --granularity sentence --input " + (tmp / "in.jsonl") +
                       " --output " + (tmp / "out.jsonl") + " 2>&1");
  EXPECT_EQ(r.status, 2) << r.out;  // record b is empty
  const auto rows = json_lines(read_file(tmp / "out.jsonl"));
  ASSERT_EQ(rows.size(), 5u);
  const auto predicted = json_lines(run(kPredict + "--granularity sentence " + quoted(kMixed)).out).at(0);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& row = rows[i];
    EXPECT_EQ(row["id"], "a");
    EXPECT_EQ(row["sentence"], i);
    EXPECT_EQ(slice(kMixed, row["start"], row["end"]), row["text"].get<std::string>());
    EXPECT_EQ(row["text"], predicted["sentences"][i]["text"]);
    EXPECT_EQ(row["label"], predicted["sentences"][i]["label"]);
    EXPECT_NEAR(row["score"].get<double>(), predicted["sentences"][i]["score"].get<double>(), 1e-4);
    EXPECT_EQ(row["display_label"], row["label"] == "positive" ? "正面" : "负面");
    EXPECT_FALSE(row.contains("explanation"));
  }
  EXPECT_EQ(rows[3]["id"], "b");
  EXPECT_NE(rows[3]["error"].get<std::string>().find("empty"), std::string::npos);
  EXPECT_EQ(rows[4]["id"], "c");
  EXPECT_EQ(rows[4]["sentence"], 0);
  EXPECT_EQ(rows[4]["text"], "质量很好");

  // --explain: each sentence row holds the words of predict --explain's explanation inside its span.
  run(kSenti + " classify --threads 1 --granularity sentence --explain --input " + (tmp / "in.jsonl") + " --output " +
      (tmp / "explained.jsonl") + " 2>&1");
  const auto explained = json_lines(read_file(tmp / "explained.jsonl"));
  ASSERT_EQ(explained.size(), 5u);
  const auto text = json_lines(run(kPredict + "--explain " + quoted(kMixed)).out).at(0);
  std::size_t next_word = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(explained[i]["explanation_label"], text["label"]);
    for (const auto& w : explained[i]["explanation"]) {
      EXPECT_GE(w["start"], explained[i]["start"]);
      EXPECT_LE(w["end"], explained[i]["end"]);
      ASSERT_LT(next_word, text["explanation"].size());
      const auto& expected = text["explanation"][next_word++];
      EXPECT_EQ(w["text"], expected["text"]);
      EXPECT_EQ(w["start"], expected["start"]);
      EXPECT_NEAR(w["weight"].get<double>(), expected["weight"].get<double>(), 1e-4);
    }
  }
  EXPECT_EQ(next_word, text["explanation"].size());
}

TEST(AnalysisCli, ClassifyExplainsAndChunksToJsonlAndCsv) {
  TempDir tmp;
  const std::string text = long_text();
  write_file(tmp / "in.jsonl", nlohmann::json{{"id", 1}, {"text", "质量很好"}}.dump() + "\n" +
                                   nlohmann::json{{"id", 2}, {"text", text}}.dump() + "\n");
  const std::string flags = " classify --threads 1 --explain --long-text chunk --input " + (tmp / "in.jsonl");
  ASSERT_EQ(run(kSenti + flags + " --output " + (tmp / "out.jsonl") + " 2>&1").status, 0);
  const auto rows = json_lines(read_file(tmp / "out.jsonl"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["chunks"], 1);
  EXPECT_GT(rows[1]["chunks"].get<int>(), 1);
  ASSERT_EQ(rows[0]["explanation"].size(), 4u);
  EXPECT_EQ(keys(rows[0]["explanation"][0]), kWordKeys);
  EXPECT_EQ(rows[0]["explanation"][3]["text"], "好");
  EXPECT_EQ(rows[1]["explanation"].size(), 30u * 27u);  // every character, the long text chunked

  ASSERT_EQ(run(kSenti + flags + " --output " + (tmp / "out.csv") + " 2>&1").status, 0);
  const std::string csv = read_file(tmp / "out.csv");
  EXPECT_EQ(csv.rfind("id,text,label,display_label,score,error,explanation,chunks\n", 0), 0u) << csv.substr(0, 200);
  const std::string first = csv.substr(csv.find('\n') + 1, csv.find("\n2,") - csv.find('\n'));
  EXPECT_EQ(first.rfind("1,质量很好,positive,正面,0.", 0), 0u) << first;
  const std::size_t json_at = first.find(",\"[");
  ASSERT_NE(json_at, std::string::npos) << first;
  std::string field = first.substr(json_at + 2, first.rfind("\",") - json_at - 2);  // unquote the CSV field
  for (std::size_t p = field.find("\"\""); p != std::string::npos; p = field.find("\"\"", p + 1)) field.erase(p, 1);
  EXPECT_EQ(nlohmann::json::parse(field), rows[0]["explanation"]) << field;
  EXPECT_EQ(first.substr(first.rfind(',')), ",1\n");
}

TEST(AnalysisCli, ClassifySentenceCsvAndResume) {
  TempDir tmp;
  std::string input = "id,text\n";
  // Appended piece by piece: GCC 12 raises a false -Wrestrict on "r" + std::to_string(i).
  for (int i = 0; i < 6; ++i) input.append("r").append(std::to_string(i)).append(",质量很好，做工精细。物流太慢了！包装也破了\n");
  write_file(tmp / "in.csv", input);
  const std::string flags = " classify --threads 1 --batch-size 2 --granularity sentence --explain --input " + (tmp / "in.csv");
  const Result full = run(kSenti + flags + " --output " + (tmp / "full.csv") + " 2>&1");
  ASSERT_EQ(full.status, 0) << full.out;
  const std::string complete = read_file(tmp / "full.csv");
  EXPECT_EQ(complete.rfind("id,sentence,start,end,text,label,display_label,score,error,explanation_label,explanation\n", 0), 0u);
  EXPECT_NE(complete.find("\nr0,0,0,10,质量很好，做工精细。,positive,正面,0."), std::string::npos) << complete;
  EXPECT_NE(complete.find("\nr0,1,10,16,物流太慢了！,negative,负面,0."), std::string::npos) << complete;
  EXPECT_NE(complete.find("\nr5,2,16,21,包装也破了,negative,负面,0."), std::string::npos) << complete;
  // The explanation's words of each sentence, weighed toward the whole text's label (the same on every row).
  const std::string label = json_lines(run(kPredict + "质量很好，做工精细。物流太慢了！包装也破了").out).at(0)["label"];
  EXPECT_NE(complete.find(",," + label + ",\"[{\"\"text\"\":\"\"物\"\",\"\"start\"\":10,\"\"end\"\":11,"),
            std::string::npos) << complete;
  EXPECT_EQ(std::count(complete.begin(), complete.end(), '\n'), 1 + 6 * 3);
  // Interrupted after record r2's first sentence row and half of its second: the rerun drops r2's rows
  // and writes r2 to r5 again, the same rows as the full run (the same batches: [r2, r3], [r4, r5]).
  const std::size_t cut = complete.find("\nr2,1,") + 20;
  write_file(tmp / "part.csv", complete.substr(0, cut));
  const Result resumed = run(kSenti + flags + " --output " + (tmp / "part.csv") + " 2>&1");
  ASSERT_EQ(resumed.status, 0) << resumed.out;
  EXPECT_NE(resumed.out.find("resuming after 2 records"), std::string::npos) << resumed.out;
  EXPECT_EQ(read_file(tmp / "part.csv"), complete);
  // Resuming with other flags is refused; the file is left as it is.
  const Result other = run(kSenti + " classify --threads 1 --input " + (tmp / "in.csv") + " --output " +
                           (tmp / "part.csv") + " 2>&1");
  EXPECT_EQ(other.status, 2) << other.out;
  EXPECT_NE(other.out.find("was written with other --explain/--granularity/--long-text flags"), std::string::npos)
      << other.out;
  EXPECT_EQ(read_file(tmp / "part.csv"), complete);
}

TEST(AnalysisCli, ClassifySentenceJsonlResume) {
  TempDir tmp;
  std::string input;
  for (int i = 0; i < 5; ++i)
    input += nlohmann::json{{"id", i}, {"text", "物流太慢了。质量很好！第" + std::to_string(i) + "次买了"}}.dump() + "\n";
  write_file(tmp / "in.jsonl", input);
  const std::string flags = " classify --threads 1 --batch-size 1 --granularity sentence --input " + (tmp / "in.jsonl");
  ASSERT_EQ(run(kSenti + flags + " --output " + (tmp / "full.jsonl") + " 2>&1").status, 0);
  const std::string complete = read_file(tmp / "full.jsonl");
  ASSERT_EQ(json_lines(complete).size(), 15u);
  // Cut at a row boundary inside record 3: its complete first row is written again, not duplicated.
  std::size_t cut = 0;
  for (int row = 0; row < 10; ++row) cut = complete.find('\n', cut) + 1;
  write_file(tmp / "part.jsonl", complete.substr(0, cut));
  const Result resumed = run(kSenti + flags + " --output " + (tmp / "part.jsonl") + " 2>&1");
  ASSERT_EQ(resumed.status, 0) << resumed.out;
  EXPECT_NE(resumed.out.find("resuming after 3 records"), std::string::npos) << resumed.out;
  EXPECT_EQ(read_file(tmp / "part.jsonl"), complete);
  // A plain (one row per record) output is not taken for sentence rows.
  ASSERT_EQ(run(kSenti + " classify --threads 1 --input " + (tmp / "in.jsonl") + " --output " + (tmp / "plain.jsonl") + " 2>&1").status, 0);
  const Result mixed = run(kSenti + flags + " --output " + (tmp / "plain.jsonl") + " 2>&1");
  EXPECT_EQ(mixed.status, 2) << mixed.out;
  EXPECT_NE(mixed.out.find("other --explain/--granularity/--long-text flags"), std::string::npos) << mixed.out;
}

TEST(AnalysisCli, ClassifyWithoutTheFlagsIsUnchanged) {
  TempDir tmp;
  write_file(tmp / "in.txt", "质量很好。物流太慢了\n");
  ASSERT_EQ(run(kSenti + " classify --threads 1 --granularity text --long-text truncate --input " + (tmp / "in.txt") +
                " --output " + (tmp / "a.csv") + " 2>&1").status, 0);
  ASSERT_EQ(run(kSenti + " classify --threads 1 --input " + (tmp / "in.txt") + " --output " + (tmp / "b.csv") + " 2>&1").status, 0);
  const std::string b = read_file(tmp / "b.csv");
  EXPECT_EQ(read_file(tmp / "a.csv"), b);
  EXPECT_EQ(b.rfind("id,text,label,display_label,score,error\n1,质量很好。物流太慢了,", 0), 0u) << b;
  EXPECT_EQ(std::count(b.begin(), b.end(), '\n'), 2);
}

}  // namespace
