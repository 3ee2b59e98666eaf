// split_sentences on the hard cases of Chinese and mixed text.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "senti/analysis.h"
#include "senti/error.h"
#include "analysis/code_points.h"

namespace senti {
namespace {

// The sentences as strings: text[start:end] in code points.
std::vector<std::string> sentences(const std::string& text) {
  const std::u32string cps = test::code_points(text);
  std::vector<std::string> out;
  for (const TextSpan& s : split_sentences(text)) {
    EXPECT_LT(s.start, s.end);
    EXPECT_LE(s.end, cps.size());
    out.push_back(test::to_utf8(cps.substr(s.start, s.end - s.start)));
  }
  return out;
}

using V = std::vector<std::string>;

TEST(SentenceSplitter, ChineseTerminators) {
  EXPECT_EQ(sentences("物流太慢了。但是质量很好！还会再买吗？会的；下次见…"),
            (V{"物流太慢了。", "但是质量很好！", "还会再买吗？", "会的；", "下次见…"}));
}

TEST(SentenceSplitter, RunsOfTerminatorsStayTogether) {
  EXPECT_EQ(sentences("太差了！！！真的吗？！好吧……算了。。。"), (V{"太差了！！！", "真的吗？！", "好吧……", "算了。。。"}));
}

TEST(SentenceSplitter, ClosingQuotesAndBracketsStayWithTheirSentence) {
  EXPECT_EQ(sentences("他说：“太难吃了！”然后走了。（真的很差。）《好书。》下一句"),
            (V{"他说：“太难吃了！”", "然后走了。", "（真的很差。）", "《好书。》", "下一句"}));
  EXPECT_EQ(sentences("「好评！」『满意。』"), (V{"「好评！」", "『满意。』"}));
}

TEST(SentenceSplitter, NumbersUrlsAndAsciiPunctuation) {
  EXPECT_EQ(sentences("2.8号拍的，用了40天.竟然黑屏"), (V{"2.8号拍的，用了40天.", "竟然黑屏"}));
  EXPECT_EQ(sentences("see https://www.jd.com/a?q=1&b=2 now! Great. OK"), (V{"see https://www.jd.com/a?q=1&b=2 now!", "Great.", "OK"}));
  EXPECT_EQ(sentences("版本v2.3.1很稳定;推荐"), (V{"版本v2.3.1很稳定;", "推荐"}));
  EXPECT_EQ(sentences("Really?? Yes!!!"), (V{"Really??", "Yes!!!"}));
}

TEST(SentenceSplitter, LineBreaksSplitAndAreNotPartOfSentences) {
  EXPECT_EQ(sentences("第一行\n第二行\r\n\r\n  第三行  \n"), (V{"第一行", "第二行", "第三行"}));
  EXPECT_EQ(sentences("a\u2028b\u2029c"), (V{"a", "b", "c"}));
}

TEST(SentenceSplitter, NoEmptySentences) {
  EXPECT_EQ(sentences(""), V{});
  EXPECT_EQ(sentences("   \n\t "), V{});
  EXPECT_EQ(sentences("。。。"), V{"。。。"});
  EXPECT_EQ(sentences("！！\n好的。\n……\n"), (V{"！！\n好的。\n……"}));
  EXPECT_EQ(sentences("很好。 ！ 不错"), (V{"很好。 ！", "不错"}));
  EXPECT_EQ(sentences("\u200b\u200b"), V{});
}

TEST(SentenceSplitter, EmojiAndMixedScriptsKeepCodePointSpans) {
  EXPECT_EQ(sentences("👍👍太好了！😡 物流慢。I love it! 👨‍👩‍👧很温馨"),
            (V{"👍👍太好了！", "😡 物流慢。", "I love it!", "👨‍👩‍👧很温馨"}));
  EXPECT_EQ(sentences("好评😀"), V{"好评😀"});
}

TEST(SentenceSplitter, InvalidUtf8Throws) { EXPECT_THROW(split_sentences(std::string("ok\xff")), InvalidInputError); }

}  // namespace
}  // namespace senti
