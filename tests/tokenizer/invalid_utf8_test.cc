// Invalid UTF-8 must raise InvalidInputError naming the byte offset, never crash.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "senti/error.h"
#include "senti/tokenizer.h"
#include "tokenizer/test_util.h"

namespace senti {
namespace {

using testing::chinese_vocab;

struct BadCase {
  const char* name;
  std::string bytes;
  std::size_t offset;
};

std::string error_of(const BertTokenizer& tok, const std::string& s) {
  try {
    tok.encode(s);
  } catch (const InvalidInputError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(TokenizerInvalidUtf8, ThrowsWithByteOffset) {
  const BertTokenizer tok(chinese_vocab(), TokenizerOptions{});
  const std::vector<BadCase> cases = {
      {"overlong 2-byte slash", "ab\xC0\xAF", 2},
      {"overlong 2-byte C1", "\xC1\xBF", 0},
      {"overlong 3-byte", "x\xE0\x80\xAF", 1},
      {"overlong 4-byte", "\xF0\x80\x80\xAF", 0},
      {"lone high surrogate", "\xE5\xA5\xBD\xED\xA0\x80", 3},
      {"lone low surrogate", "a\xED\xB0\x80", 1},
      {"truncated 2-byte at end", "abc\xC3", 3},
      {"truncated 3-byte at end", "\xE5\xA5", 0},
      {"truncated 4-byte then ascii", "\xF0\x9F\x98" "a", 0},
      {"truncated 3-byte in middle", "\xE4\xBD" "\xE5\xA5\xBD", 0},
      {"0xFF byte", "ok\xFF", 2},
      {"0xFE byte", "\xFE", 0},
      {"stray continuation", "好\x80", 3},
      {"above U+10FFFF (F4 90)", "\xF4\x90\x80\x80", 0},
      {"F5 lead byte", "\xF5\x80\x80\x80", 0},
      {"5-byte form", "\xF8\x88\x80\x80\x80", 0},
      {"bad byte after special token", "[SEP]\xFF", 5},
      {"bad byte before special token", "\xC3[SEP]", 0},
  };
  for (const auto& c : cases) {
    const std::string msg = error_of(tok, c.bytes);
    EXPECT_NE(msg.find("invalid UTF-8"), std::string::npos) << c.name << ": " << msg;
    EXPECT_NE(msg.find("byte offset " + std::to_string(c.offset) + ":"), std::string::npos) << c.name << ": " << msg;
    EXPECT_THROW(tok.tokenize(c.bytes), InvalidInputError) << c.name;
  }
}

TEST(TokenizerInvalidUtf8, PairTextIsValidatedToo) {
  const BertTokenizer tok(chinese_vocab(), TokenizerOptions{});
  EXPECT_THROW(tok.encode("好", std::string_view("\xED\xA0\x80")), InvalidInputError);
}

TEST(TokenizerInvalidUtf8, ValidEdgesAreAccepted) {
  const BertTokenizer tok(chinese_vocab(), TokenizerOptions{});
  // U+007F, U+0080, U+07FF, U+0800, U+D7FF, U+E000, U+FFFF, U+10000, U+10FFFF.
  const std::string ok = "\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF";
  EXPECT_NO_THROW(tok.encode(ok));
}

TEST(TokenizerInvalidUtf8, RandomBytesNeverCrash) {
  const BertTokenizer tok(chinese_vocab(), TokenizerOptions{});
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> len(0, 40), byte(0, 255);
  int thrown = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s(static_cast<std::size_t>(len(rng)), '\0');
    for (char& ch : s) ch = static_cast<char>(byte(rng));
    try {
      const Encoding e = tok.encode(s, std::nullopt, 16);
      ASSERT_LE(e.input_ids.size(), 16u);
      ASSERT_EQ(e.input_ids.size(), e.token_type_ids.size());
    } catch (const InvalidInputError&) {
      ++thrown;
    }
  }
  EXPECT_GT(thrown, 1000);
}

}  // namespace
}  // namespace senti
