// Vocab loading and look-ups.
#include <gtest/gtest.h>

#include <fstream>

#include "senti/error.h"
#include "senti/tokenizer.h"
#include "tokenizer/test_util.h"

namespace senti {
namespace {

std::filesystem::path temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("senti_tokenizer_test_" + name + "_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(TokenizerVocab, LoadsTheChineseVocab) {
  const Vocab& v = testing::chinese_vocab();
  EXPECT_EQ(v.size(), 21128u);
  EXPECT_EQ(v.find("[PAD]"), 0);
  EXPECT_EQ(v.find("[UNK]"), 100);
  EXPECT_EQ(v.find("[CLS]"), 101);
  EXPECT_EQ(v.find("[SEP]"), 102);
  EXPECT_EQ(v.find("[MASK]"), 103);
  EXPECT_EQ(v.token(101), "[CLS]");
  EXPECT_FALSE(v.find("definitely-not-a-token").has_value());
  EXPECT_THROW(v.token(-1), std::out_of_range);
  EXPECT_THROW(v.token(21128), std::out_of_range);
}

TEST(TokenizerVocab, MissingFileNamesThePath) {
  const auto path = std::filesystem::path("/nonexistent/dir/vocab.txt");
  try {
    Vocab::load(path);
    FAIL() << "no exception";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
}

TEST(TokenizerVocab, EmptyAndNonUtf8FilesAreModelErrors) {
  const auto dir = temp_dir("vocab");
  { std::ofstream(dir / "empty.txt"); }
  { std::ofstream(dir / "bad.txt", std::ios::binary) << "[PAD]\n\xFF\xFE\n"; }
  EXPECT_THROW(Vocab::load(dir / "empty.txt"), ModelError);
  EXPECT_THROW(Vocab::load(dir / "bad.txt"), ModelError);
  std::filesystem::remove_all(dir);
}

TEST(TokenizerVocab, CrLfLinesAndDuplicates) {
  const auto dir = temp_dir("crlf");
  { std::ofstream(dir / "v.txt", std::ios::binary) << "[PAD]\r\n[UNK]\r\na\nb\na\n"; }
  const Vocab v = Vocab::load(dir / "v.txt");
  EXPECT_EQ(v.size(), 5u);
  EXPECT_EQ(v.find("[UNK]"), 1);
  EXPECT_EQ(v.find("a"), 4);  // the last duplicate wins, as in HF's dict-based loader
  EXPECT_EQ(v.token(2), "a");
  std::filesystem::remove_all(dir);
}

TEST(TokenizerVocab, MissingSpecialTokenIsModelError) {
  EXPECT_THROW(BertTokenizer(Vocab::from_tokens({"[PAD]", "[UNK]", "[CLS]"}), TokenizerOptions{}), ModelError);
  EXPECT_NO_THROW(BertTokenizer(Vocab::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]"}), TokenizerOptions{}));
}

}  // namespace
}  // namespace senti
