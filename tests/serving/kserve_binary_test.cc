#include "serving/kserve_binary.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "serving/service_detail.h"

namespace senti::serving::kserve {
namespace {

using nlohmann::json;

// The 400 message of a rejected call, or "" when it did not throw.
template <typename F>
std::string rejection(F&& f) {
  try {
    f();
  } catch (const detail::RequestError& e) {
    EXPECT_EQ(e.status, 400);
    return e.message;
  }
  return "";
}

TEST(KServeBinary, SplitsAtTheHeaderLength) {
  const SplitBody all = split_body("{}", std::nullopt);
  EXPECT_EQ(all.header, "{}");
  EXPECT_TRUE(all.binary.empty());
  const SplitBody s = split_body("{}abc", std::string("2"));
  EXPECT_EQ(s.header, "{}");
  EXPECT_EQ(s.binary, "abc");
  EXPECT_EQ(split_body("{}", std::string("2")).binary, "");
  for (const char* bad : {"", "3", "-1", "+2", " 2", "2 ", "0x2", "18446744073709551616", "99999999999999999999"})
    EXPECT_NE(rejection([&] { split_body("{}", std::string(bad)); }).find("Inference-Header-Content-Length"),
              std::string::npos)
        << bad;
}

TEST(KServeBinary, CursorBoundsEveryTake) {
  BinaryCursor c("abcdef");
  EXPECT_EQ(c.take(2, "a"), "ab");
  EXPECT_NE(rejection([&] { c.take(5, "b"); }).find("only 4 bytes"), std::string::npos);
  EXPECT_NE(rejection([&] { c.take(std::numeric_limits<std::uint64_t>::max(), "b"); }).find("binary_data_size"),
            std::string::npos);
  EXPECT_NE(rejection([&] { c.expect_end(); }).find("4 bytes"), std::string::npos);
  EXPECT_EQ(c.take(4, "b"), "cdef");
  EXPECT_EQ(rejection([&] { c.expect_end(); }), "");
}

TEST(KServeBinary, BinaryDataSize) {
  EXPECT_FALSE(binary_data_size(json{{"name", "text"}}));
  EXPECT_FALSE(binary_data_size(json{{"parameters", json::object()}}));
  EXPECT_EQ(binary_data_size(json{{"parameters", {{"binary_data_size", 7}}}}), 7u);
  for (const json& bad : {json{{"parameters", 1}}, json{{"parameters", {{"binary_data_size", -1}}}},
                          json{{"parameters", {{"binary_data_size", 1.5}}}}, json{{"parameters", {{"binary_data_size", "7"}}}}})
    EXPECT_NE(rejection([&] { binary_data_size(bad); }), "") << bad;
}

TEST(KServeBinary, BytesRoundTripAndBounds) {
  const std::vector<std::string> texts = {"好", "", std::string("a\0b", 3)};
  const std::string data = encode_bytes(texts);
  EXPECT_EQ(data.substr(0, 4), std::string("\x03\x00\x00\x00", 4));
  EXPECT_EQ(decode_bytes(data, 32, "t"), texts);
  // At most max_elements + 1 elements are decoded.
  EXPECT_EQ(decode_bytes(encode_bytes(std::vector<std::string>(100, "")), 4, "t").size(), 5u);
  EXPECT_NE(rejection([&] { decode_bytes(data.substr(0, data.size() - 1), 32, "t"); }).find("only 2 are left"),
            std::string::npos);
  EXPECT_NE(rejection([&] { decode_bytes(std::string("\x01\x00", 2), 32, "t"); }).find("4-byte length"),
            std::string::npos);
  EXPECT_NE(rejection([&] { decode_bytes(std::string("\xff\xff\xff\xff", 4) + "x", 32, "t"); }).find("4294967295"),
            std::string::npos);
}

TEST(KServeBinary, Fp32IsLittleEndian) {
  EXPECT_EQ(encode_fp32({1.0f, -2.0f}), std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8));
}

TEST(KServeBinary, RequestedOutputs) {
  const std::vector<std::string> available = {"label", "score", "scores"};
  auto names = [](const std::vector<RequestedOutput>& v) {
    std::string out;
    for (const auto& o : v) out += o.name + (o.binary ? "(b) " : " ");
    return out;
  };
  EXPECT_EQ(names(requested_outputs(json::object(), available)), "label score scores ");
  EXPECT_EQ(names(requested_outputs(json{{"parameters", {{"binary_data_output", true}}}}, available)),
            "label(b) score(b) scores(b) ");
  EXPECT_EQ(names(requested_outputs(json{{"outputs", json::array()}}, available)), "label score scores ");
  const json request = {{"parameters", {{"binary_data_output", true}}},
                        {"outputs", {{{"name", "scores"}}, {{"name", "label"}, {"parameters", {{"binary_data", false}}}}}}};
  EXPECT_EQ(names(requested_outputs(request, available)), "scores(b) label ");
  for (const json& bad :
       {json{{"outputs", "label"}}, json{{"outputs", {1}}}, json{{"outputs", {{{"name", 1}}}}},
        json{{"outputs", {{{"name", "x"}}}}}, json{{"outputs", {{{"name", "label"}}, {{"name", "label"}}}}},
        json{{"outputs", {{{"name", "label"}, {"parameters", {{"classification", 1}}}}}}},
        json{{"outputs", {{{"name", "label"}, {"parameters", {{"binary_data", 1}}}}}}},
        json{{"parameters", {{"binary_data_output", "yes"}}}}, json{{"parameters", 3}}})
    EXPECT_NE(rejection([&] { requested_outputs(bad, available); }), "") << bad;
}

TEST(KServeBinary, InferResponseMixesJsonAndBinary) {
  OutputTensor label{"label", {1}, Datatype::kBytes, true, {"positive"}, {}, {}};
  OutputTensor score{"score", {1}, Datatype::kFp32, false, {}, {0.5f}, {}};
  const HttpResponse r = infer_response(json{{"model_name", "m"}}, {label, score});
  EXPECT_EQ(r.content_type, "application/octet-stream");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Inference-Header-Content-Length");
  const std::size_t n = std::stoul(r.headers[0].second);
  const json header = json::parse(r.body.substr(0, n));
  EXPECT_EQ(header["outputs"][0]["parameters"]["binary_data_size"], 12);
  EXPECT_FALSE(header["outputs"][0].contains("data"));
  EXPECT_EQ(header["outputs"][1]["data"], json({0.5}));
  EXPECT_EQ(header["outputs"][1]["datatype"], "FP32");
  EXPECT_EQ(r.body.substr(n), encode_bytes({"positive"}));
  label.binary = false;
  const HttpResponse plain = infer_response(json{{"model_name", "m"}}, {label, score});
  EXPECT_EQ(plain.content_type, "application/json");
  EXPECT_TRUE(plain.headers.empty());
  EXPECT_EQ(json::parse(plain.body)["outputs"][0]["data"], json({"positive"}));
}

// INT64 outputs (the analysis "chunks"): little-endian 8-byte integers, or JSON numbers.
TEST(KServeBinary, Int64Outputs) {
  EXPECT_EQ(encode_int64({1, -2}), std::string("\x01\0\0\0\0\0\0\0\xfe\xff\xff\xff\xff\xff\xff\xff", 16));
  EXPECT_STREQ(datatype_name(Datatype::kInt64), "INT64");
  OutputTensor chunks{"chunks", {2}, Datatype::kInt64, true, {}, {}, {3, 1}};
  const HttpResponse r = infer_response(json{{"model_name", "m"}}, {chunks});
  const std::size_t n = std::stoul(r.headers.at(0).second);
  const json header = json::parse(r.body.substr(0, n));
  EXPECT_EQ(header["outputs"][0]["datatype"], "INT64");
  EXPECT_EQ(header["outputs"][0]["parameters"]["binary_data_size"], 16);
  EXPECT_EQ(r.body.substr(n), encode_int64({3, 1}));
  chunks.binary = false;
  EXPECT_EQ(json::parse(infer_response(json{{"model_name", "m"}}, {chunks}).body)["outputs"][0]["data"], json({3, 1}));
}

}  // namespace
}  // namespace senti::serving::kserve
