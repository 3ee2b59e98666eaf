// split_sentences on the hard cases of Chinese and mixed text.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "senti/analysis.h"
#include "senti/error.h"

namespace senti {
namespace {

// The sentences as strings: text[start:end] in code points.
std::vector<std::string> sentences(const std::string& text) {
  std::u32string cps;
  for (std::size_t i = 0; i < text.size();) {  // a minimal UTF-8 decoder (inputs are valid)
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const int len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    char32_t cp = len == 1 ? c : (c & (0x7F >> len));
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    cps.push_back(cp);
    i += len;
  }
  std::vector<std::string> out;
  for (const TextSpan& s : split_sentences(text)) {
    EXPECT_LT(s.start, s.end);
    EXPECT_LE(s.end, cps.size());
    std::string piece;
    for (std::size_t k = s.start; k < s.end; ++k) {
      const char32_t cp = cps[k];
      if (cp < 0x80) {
        piece += static_cast<char>(cp);
      } else if (cp < 0x800) {
        piece += static_cast<char>(0xC0 | (cp >> 6));
        piece += static_cast<char>(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        piece += static_cast<char>(0xE0 | (cp >> 12));
        piece += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        piece += static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        piece += static_cast<char>(0xF0 | (cp >> 18));
        piece += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        piece += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        piece += static_cast<char>(0x80 | (cp & 0x3F));
      }
    }
    out.push_back(piece);
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
