#include "serving/http_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace senti::serving {
namespace {

TEST(PercentDecode, DecodesEscapesAndPlus) {
  EXPECT_EQ(percent_decode("a+b%20c%2B%e5%A5%bd", true), "a b c+好");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
  EXPECT_EQ(percent_decode("", true), "");
  EXPECT_EQ(percent_decode("%00", true), std::string(1, '\0'));
}

TEST(PercentEncode, KeepsUnreservedAndRoundTripsAnyBytes) {
  EXPECT_EQ(percent_encode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(percent_encode("a b/好+%"), "a%20b%2F%E5%A5%BD%2B%25");
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  EXPECT_EQ(percent_decode(percent_encode(all), false), all);
}

TEST(PercentDecode, RejectsMalformedEscapes) {
  EXPECT_FALSE(percent_decode("%", true));
  EXPECT_FALSE(percent_decode("%4", true));
  EXPECT_FALSE(percent_decode("abc%zz", true));
  EXPECT_FALSE(percent_decode("%g1", true));
}

TEST(ParseQuery, SplitsAndDecodes) {
  const auto q = parse_query("text=%E5%A5%BD+x&&flag&k=a%3Db");
  ASSERT_TRUE(q);
  ASSERT_EQ(q->size(), 3u);
  EXPECT_EQ((*q)[0], (std::pair<std::string, std::string>{"text", "好 x"}));
  EXPECT_EQ((*q)[1], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_EQ((*q)[2], (std::pair<std::string, std::string>{"k", "a=b"}));
  EXPECT_FALSE(parse_query("text=%"));
}

TEST(SplitTarget, AtFirstQuestionMark) {
  const Target t = split_target("/predict?text=a?b");
  EXPECT_EQ(t.path, "/predict");
  EXPECT_EQ(t.query, "text=a?b");
  EXPECT_EQ(split_target("/health").query, "");
}

TEST(Utf8, AcceptsValidRejectsInvalid) {
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("这件衣服 😀 é"));
  EXPECT_FALSE(is_valid_utf8("\xff"));
  EXPECT_FALSE(is_valid_utf8("\xe5\xa5"));          // truncated
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));      // overlong, 3 bytes
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
}

TEST(ErrorBody, IsJsonWithTypeEvenForBadBytes) {
  const auto j = nlohmann::json::parse(error_body("bad \xff thing", "validation"));
  EXPECT_EQ(j["error_type"], "validation");
  EXPECT_NE(j["error"].get<std::string>().find("bad"), std::string::npos);
}

}  // namespace
}  // namespace senti::serving
