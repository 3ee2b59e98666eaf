// The KServe v2 raw BYTES form (4-byte little-endian length, then the bytes): parsing and its bounds.
#include "serving/grpc/bytes_elements.h"

#include <gtest/gtest.h>

#include <string>

namespace senti::serving {
namespace {

std::string encode(std::initializer_list<std::string> elements) {
  std::string out;
  for (const auto& e : elements) append_bytes_element(out, e);
  return out;
}

TEST(BytesElements, RoundTrip) {
  std::string error;
  const auto parsed = parse_bytes_elements(encode({"这件衣服", "", std::string(300, 'x')}), 10, &error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_FALSE(parsed->truncated);
  ASSERT_EQ(parsed->elements.size(), 3u);
  EXPECT_EQ(parsed->elements[0], "这件衣服");
  EXPECT_EQ(parsed->elements[1], "");
  EXPECT_EQ(parsed->elements[2].size(), 300u);
  EXPECT_EQ(encode({"ab"}), std::string("\x02\x00\x00\x00" "ab", 6));
}

TEST(BytesElements, EmptyIsNoElements) {
  std::string error;
  const auto parsed = parse_bytes_elements("", 4, &error);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->elements.empty());
}

TEST(BytesElements, MalformedLengthsAreRefused) {
  std::string error;
  EXPECT_FALSE(parse_bytes_elements(std::string("\x01\x00", 2), 4, &error));
  EXPECT_NE(error.find("cut-short"), std::string::npos) << error;
  EXPECT_FALSE(parse_bytes_elements(std::string("\x05\x00\x00\x00" "abc", 7), 4, &error));
  EXPECT_NE(error.find("only 3 are left"), std::string::npos) << error;
  EXPECT_FALSE(parse_bytes_elements(std::string("\xff\xff\xff\xff", 4), 4, &error));
  EXPECT_FALSE(parse_bytes_elements(encode({"a"}) + std::string("\x00", 1), 4, &error));
}

TEST(BytesElements, CopiesAtMostOneOverTheLimit) {
  std::string raw;
  for (int i = 0; i < 1000; ++i) append_bytes_element(raw, "t");
  std::string error;
  const auto parsed = parse_bytes_elements(raw, 4, &error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_TRUE(parsed->truncated);
  EXPECT_EQ(parsed->elements.size(), 5u);
}

}  // namespace
}  // namespace senti::serving
