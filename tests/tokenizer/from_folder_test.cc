// BertTokenizer::from_folder: vocab.txt + tokenizer_config.json.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "senti/error.h"
#include "senti/tokenizer.h"
#include "tokenizer/test_util.h"

namespace senti {
namespace {

class FromFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("senti_tokenizer_folder_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::filesystem::copy_file(testing::chinese_vocab_path(), dir_ / "vocab.txt");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write_config(const std::string& text) { std::ofstream(dir_ / "tokenizer_config.json") << text; }
  std::filesystem::path dir_;
};

TEST_F(FromFolder, NoConfigUsesDefaults) {
  const auto tok = BertTokenizer::from_folder(dir_, 512);
  EXPECT_TRUE(tok.options().do_lower_case);
  EXPECT_EQ(tok.options().model_max_length, 512u);
  // "HELLO" lower-cased -> "hello" (8701).
  EXPECT_EQ(tok.encode("HELLO").input_ids, (std::vector<int32_t>{101, 8701, 102}));
}

TEST_F(FromFolder, DoLowerCaseFalseChangesResults) {
  write_config(R"({"do_lower_case": false, "tokenizer_class": "BertTokenizer"})");
  const auto tok = BertTokenizer::from_folder(dir_, 512);
  EXPECT_FALSE(tok.options().do_lower_case);
  // HF with do_lower_case=False: "HELLO" -> [UNK]; "Café" keeps its accent (no NFD either).
  EXPECT_EQ(tok.encode("HELLO").input_ids, (std::vector<int32_t>{101, 100, 102}));
  EXPECT_EQ(tok.tokenize("hello"), (std::vector<std::string>{"hello"}));
}

TEST_F(FromFolder, StripAccentsAndChineseChars) {
  write_config(R"({"do_lower_case": true, "strip_accents": false, "tokenize_chinese_chars": false})");
  const auto tok = BertTokenizer::from_folder(dir_, 512);
  ASSERT_TRUE(tok.options().strip_accents.has_value());
  EXPECT_FALSE(*tok.options().strip_accents);
  EXPECT_FALSE(tok.options().tokenize_chinese_chars);
  // Without CJK splitting "你好" is one word, which WordPiece splits into 你 ##好.
  EXPECT_EQ(tok.tokenize("你好"), (std::vector<std::string>{"你", "##好"}));
}

TEST_F(FromFolder, ModelMaxLengthIsCappedByPositionEmbeddings) {
  write_config(R"({"model_max_length": 1024})");
  EXPECT_EQ(BertTokenizer::from_folder(dir_, 512).options().model_max_length, 512u);
  write_config(R"({"model_max_length": 256})");
  EXPECT_EQ(BertTokenizer::from_folder(dir_, 512).options().model_max_length, 256u);
  // transformers' "no limit" sentinel, int(1e30).
  write_config(R"({"model_max_length": 1000000000000000019884624838656})");
  EXPECT_EQ(BertTokenizer::from_folder(dir_, 512).options().model_max_length, 512u);
  EXPECT_EQ(BertTokenizer::from_folder(dir_, 128).options().model_max_length, 128u);
  write_config(R"({})");
  EXPECT_EQ(BertTokenizer::from_folder(dir_, 64).options().model_max_length, 64u);
  const auto tok = BertTokenizer::from_folder(dir_, 8);
  const Encoding enc = tok.encode("一二三四五六七八九十");
  EXPECT_EQ(enc.input_ids, (std::vector<int32_t>{101, 671, 753, 676, 1724, 758, 1063, 102}));
  EXPECT_TRUE(enc.truncated);
}

TEST_F(FromFolder, SpecialTokensAsStringsOrObjects) {
  write_config(R"({"unk_token": {"content": "[unused1]", "lstrip": false}, "sep_token": "[unused2]"})");
  const auto tok = BertTokenizer::from_folder(dir_, 512);
  EXPECT_EQ(tok.options().unk_token, "[unused1]");
  EXPECT_EQ(tok.encode("😀").input_ids, (std::vector<int32_t>{101, 1, 2}));
}

TEST_F(FromFolder, BadConfigsAreModelErrors) {
  for (const char* bad : {"{not json", "[1,2]", R"({"do_lower_case": "yes"})", R"({"model_max_length": -5})",
                          R"({"model_max_length": "512"})", R"({"tokenizer_class": "XLMRobertaTokenizer"})",
                          R"({"unk_token": "[NOPE]"})", R"({"do_basic_tokenize": false})"}) {
    write_config(bad);
    try {
      BertTokenizer::from_folder(dir_, 512);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const ModelError& e) {
      SUCCEED() << e.what();
    }
  }
  write_config(R"({"model_max_length": 1.5})");
  try {
    BertTokenizer::from_folder(dir_, 512);
    ADD_FAILURE() << "accepted a fractional model_max_length";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer_config.json"), std::string::npos) << e.what();
  }
}

TEST_F(FromFolder, MissingVocabNamesThePath) {
  std::filesystem::remove(dir_ / "vocab.txt");
  try {
    BertTokenizer::from_folder(dir_, 512);
    FAIL() << "no exception";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find((dir_ / "vocab.txt").string()), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace senti
