// Small, explicit behaviours (independent of the goldens).
#include <gtest/gtest.h>

#include "senti/tokenizer.h"
#include "tokenizer/test_util.h"
#include "tokenizer/truncation.h"

namespace senti {
namespace {

using testing::chinese_vocab;
using tokenizer_detail::longest_first;

TEST(TokenizerUnit, LongestFirstMatchesTokenizersLibrary) {
  // (n1, n2, budget) -> kept lengths, checked against transformers 5 / tokenizers 0.23.
  struct Row { std::size_t n1, n2, budget, k1, k2; };
  for (const Row& r : std::initializer_list<Row>{{1, 1, 1, 0, 1}, {1, 3, 1, 0, 1}, {3, 3, 3, 1, 2}, {3, 3, 5, 2, 3},
                                                 {10, 3, 5, 3, 2}, {3, 10, 5, 2, 3}, {1, 10, 5, 1, 4}, {10, 1, 5, 4, 1},
                                                 {5, 5, 10, 5, 5}, {0, 7, 3, 0, 3}, {4, 4, 0, 0, 0}}) {
    const auto k = longest_first(r.n1, r.n2, r.budget);
    EXPECT_EQ(k.first, r.k1) << r.n1 << "," << r.n2 << " budget " << r.budget;
    EXPECT_EQ(k.second, r.k2) << r.n1 << "," << r.n2 << " budget " << r.budget;
  }
}

TEST(TokenizerUnit, EncodeFramingAndTypeIds) {
  const BertTokenizer tok(chinese_vocab(), TokenizerOptions{});
  const Encoding e = tok.encode("你好", std::string_view("谢谢"));
  EXPECT_EQ(e.input_ids, (std::vector<int32_t>{101, 872, 1962, 102, 6468, 6468, 102}));
  EXPECT_EQ(e.token_type_ids, (std::vector<int32_t>{0, 0, 0, 0, 1, 1, 1}));
  EXPECT_FALSE(e.truncated);
  EXPECT_EQ(tok.encode("").input_ids, (std::vector<int32_t>{101, 102}));
}

TEST(TokenizerUnit, DefaultMaxLengthTruncates) {
  TokenizerOptions opt;
  opt.model_max_length = 5;
  const BertTokenizer tok(chinese_vocab(), opt);
  const Encoding e = tok.encode("一二三四五六");
  EXPECT_EQ(e.input_ids, (std::vector<int32_t>{101, 671, 753, 676, 102}));
  EXPECT_TRUE(e.truncated);
  EXPECT_FALSE(tok.encode("一二三").truncated);
  EXPECT_EQ(tok.encode("一二三四五六", std::nullopt, 100).input_ids.size(), 8u);
}

TEST(TokenizerUnit, TokenizeWordPieces) {
  const BertTokenizer tok(chinese_vocab(), TokenizerOptions{});
  EXPECT_EQ(tok.tokenize("Hello,世界! ÉCOLE"),
            (std::vector<std::string>{"hello", ",", "世", "界", "!", "eco", "##le"}));
  EXPECT_EQ(tok.tokenize(std::string(101, 'a')), (std::vector<std::string>{"[UNK]"}));
  EXPECT_EQ(tok.tokenize("a[MASK]b"), (std::vector<std::string>{"a", "[MASK]", "b"}));
}

}  // namespace
}  // namespace senti
