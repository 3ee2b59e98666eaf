// The routes that other ecosystems' clients call unchanged, against the real `senti serve`:
// Hugging Face (POST / with the Inference API's "parameters"), the KServe v2 binary tensor extension
// (what tritonclient.http sends by default) and KServe v1. Every answer is compared with the JSON
// API's answer for the same texts; every malformed length gets a 400 and the server lives on.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "serving/expect_error.h"
#include "serving/http_client.h"
#include "serving/ranked_answers.h"
#include "serving/serve_fixture.h"
#include "serving/server_process.h"

namespace senti::test {
namespace {

using nlohmann::json;

const std::string kInfer = "/v2/models/tiny/infer";

std::string u32le(std::uint32_t v) {
  std::string out;
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xffu));
  return out;
}

// A BYTES tensor's binary data: each element as its 4-byte little-endian length and its bytes.
std::string bytes_tensor(const std::vector<std::string>& elements) {
  std::string out;
  for (const auto& e : elements) out += u32le(static_cast<std::uint32_t>(e.size())) + e;
  return out;
}

json text_input(std::size_t n, std::size_t binary_size) {
  return {{"name", "text"}, {"datatype", "BYTES"}, {"shape", {n}}, {"parameters", {{"binary_data_size", binary_size}}}};
}

// POST of a JSON inference header followed by binary data, as tritonclient.http sends it.
HttpResult post_binary(HttpClient& c, const std::string& header, const std::string& binary,
                       const std::string& header_length = "") {
  return c.request("POST", kInfer, header + binary,
                   {{"Inference-Header-Content-Length", header_length.empty() ? std::to_string(header.size()) : header_length},
                    {"Content-Type", "application/octet-stream"}});
}

// A binary infer answer, decoded: the JSON header, and each binary output's bytes by name.
struct BinaryAnswer {
  json header;
  std::map<std::string, std::string> data;
};

BinaryAnswer decode_answer(const HttpResult& r) {
  BinaryAnswer out;
  const std::size_t n = std::stoul(r.headers.at("inference-header-content-length"));
  out.header = json::parse(r.body.substr(0, n));
  std::size_t offset = n;
  for (const json& o : out.header["outputs"]) {
    if (!o.contains("parameters")) continue;
    const std::size_t size = o["parameters"]["binary_data_size"].get<std::size_t>();
    out.data[o["name"].get<std::string>()] = r.body.substr(offset, size);
    offset += size;
  }
  EXPECT_EQ(offset, r.body.size());
  return out;
}

std::vector<std::string> decode_bytes(const std::string& data) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i + 4 <= data.size()) {
    std::uint32_t n = 0;
    for (int b = 3; b >= 0; --b) n = (n << 8) | static_cast<unsigned char>(data[i + static_cast<std::size_t>(b)]);
    out.push_back(data.substr(i + 4, n));
    i += 4 + n;
  }
  return out;
}

std::vector<float> decode_fp32(const std::string& data) {
  std::vector<float> out(data.size() / 4);
  std::memcpy(out.data(), data.data(), out.size() * 4);  // the test hosts are little-endian, like the wire
  return out;
}

class ServeCompat : public ServeFixture {
 protected:
  // The JSON API's answer for one text: TEI POST /predict.
  json tei(HttpClient& c, const std::string& text, bool raw = false) {
    const HttpResult r = c.post("/predict", json{{"inputs", text}, {"raw_scores", raw}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json();
  }
};

// ---- Hugging Face: POST / ----

TEST_F(ServeCompat, PostRootIsTheTeiRoute) {
  HttpClient c(server_->port());
  const json expected = tei(c, kText);
  HttpResult r = c.post("/", json{{"inputs", kText}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(same_ranked_answer(r.json(), expected, 1e-6)) << r.body;
  EXPECT_EQ(r.json()[0]["label"], expected[0]["label"]);
  EXPECT_EQ(r.headers.count("x-compute-tokens"), 1u);
  r = c.post("/", json{{"inputs", {kText, "物流太慢了"}}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json().size(), 2u);
  EXPECT_TRUE(same_ranked_answer(r.json()[0], expected, 1e-6)) << r.body;
  EXPECT_TRUE(same_ranked_answer(r.json()[1], tei(c, "物流太慢了"), 1e-6)) << r.body;
}

TEST_F(ServeCompat, HuggingFaceParameters) {
  HttpClient c(server_->port());
  const json expected = tei(c, kText);
  // huggingface_hub always sends "parameters" ({} at least): the Inference API's list of rankings.
  HttpResult r = c.post("/", json{{"inputs", kText}, {"parameters", json::object()}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(r.json().is_array() && r.json().size() == 1u) << r.body;
  EXPECT_TRUE(same_ranked_answer(r.json()[0], expected, 1e-6)) << r.body;
  r = c.post("/", json{{"inputs", kText}, {"parameters", {{"top_k", 1}}}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json()[0].size(), 1u) << r.body;
  EXPECT_EQ(r.json()[0][0]["label"], expected[0]["label"]);
  EXPECT_NEAR(r.json()[0][0]["score"].get<double>(), expected[0]["score"].get<double>(), 1e-6);
  r = c.post("/predict", json{{"inputs", {kText, "差"}}, {"parameters", {{"top_k", 1}}}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json().size(), 2u);
  EXPECT_EQ(r.json()[1].size(), 1u);
  r = c.post("/", json{{"inputs", kText}, {"parameters", {{"top_k", 99}}}}.dump());
  EXPECT_EQ(r.json()[0].size(), 2u) << r.body;
  // function_to_apply: softmax (the default), none (the logits, as raw_scores), sigmoid of the logits.
  const json logits = tei(c, kText, true);
  r = c.post("/", json{{"inputs", kText}, {"parameters", {{"function_to_apply", "none"}}}}.dump());
  EXPECT_TRUE(same_ranked_answer(r.json()[0], logits, 1e-6)) << r.body;
  r = c.post("/", json{{"inputs", kText}, {"parameters", {{"function_to_apply", "softmax"}}}}.dump());
  EXPECT_TRUE(same_ranked_answer(r.json()[0], expected, 1e-6)) << r.body;
  r = c.post("/", json{{"inputs", kText}, {"parameters", {{"function_to_apply", "sigmoid"}}}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  for (const json& e : logits) {
    const double sigmoid = 1.0 / (1.0 + std::exp(-e["score"].get<double>()));
    EXPECT_NEAR(ranked_score_of(r.json()[0], e["label"]), sigmoid, 1e-5) << r.body;
  }
  // truncate as a parameter.
  std::string long_text;
  for (int i = 0; i < 700; ++i) long_text += "好";
  expect_error(c.post("/", json{{"inputs", long_text}, {"parameters", {{"truncate", false}}}}.dump()), 422,
               "validation", "tokens long");
  EXPECT_EQ(c.post("/", json{{"inputs", long_text}, {"parameters", {{"truncate", true}}}}.dump()).status, 200);
}

TEST_F(ServeCompat, HuggingFaceBadParameters) {
  HttpClient c(server_->port());
  auto post = [&](const json& parameters) { return c.post("/", json{{"inputs", kText}, {"parameters", parameters}}.dump()); };
  expect_error(post({{"function_to_apply", "tanh"}}), 400, "validation", "function_to_apply");
  expect_error(post({{"function_to_apply", 1}}), 400, "validation", "function_to_apply");
  expect_error(post({{"top_k", 0}}), 400, "validation", "top_k");
  expect_error(post({{"top_k", -1}}), 400, "validation", "top_k");
  expect_error(post({{"top_k", "2"}}), 400, "validation", "top_k");
  expect_error(post({{"top_k", 1.5}}), 400, "validation", "top_k");
  expect_error(post({{"truncate", "yes"}}), 400, "validation", "truncate");
  expect_error(post(5), 400, "validation", "parameters");
  expect_error(c.post("/", json{{"inputs", kText}, {"raw_scores", true}, {"parameters", {{"function_to_apply", "softmax"}}}}.dump()),
               400, "validation", "raw_scores");
  expect_error(c.post("/", json{{"inputs", ""}, {"parameters", json::object()}}.dump()), 422, "validation", "empty");
  expect_error(c.post("/", "{\"inputs\": "), 400, "validation", "JSON");
  expect_error(c.post("/", R"({"inputs": ["a", "b", "c", "d", "e"]})"), 422, "validation", "max-client-batch-size");
  EXPECT_EQ(c.connects(), 1);
}

// ---- KServe v2 binary tensor extension ----

TEST_F(ServeCompat, BinaryInputsAndOutputs) {
  HttpClient c(server_->port());
  const std::vector<std::string> texts = {kText, "物流太慢了"};
  const std::string data = bytes_tensor(texts);
  // No outputs named: tritonclient then asks for all of them as binary.
  json header = {{"id", "b1"}, {"inputs", {text_input(2, data.size())}}, {"parameters", {{"binary_data_output", true}}}};
  HttpResult r = post_binary(c, header.dump(), data);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers.at("content-type"), "application/octet-stream");
  const BinaryAnswer a = decode_answer(r);
  EXPECT_EQ(a.header["id"], "b1");
  EXPECT_EQ(a.header["model_name"], "tiny");
  ASSERT_EQ(a.header["outputs"].size(), 3u);
  EXPECT_EQ(a.header["outputs"][2]["shape"], json({2, 2}));
  EXPECT_FALSE(a.header["outputs"][0].contains("data"));
  const std::vector<std::string> labels = decode_bytes(a.data.at("label"));
  const std::vector<float> scores = decode_fp32(a.data.at("score"));
  const std::vector<float> all = decode_fp32(a.data.at("scores"));
  ASSERT_EQ(labels.size(), 2u);
  ASSERT_EQ(scores.size(), 2u);
  ASSERT_EQ(all.size(), 4u);
  for (std::size_t i = 0; i < 2; ++i) {
    const json expected = tei(c, texts[i]);
    EXPECT_EQ(labels[i], expected[0]["label"]);
    EXPECT_NEAR(scores[i], expected[0]["score"].get<double>(), 1e-6);
    EXPECT_NEAR(all[i * 2 + 1], ranked_score_of(expected, "positive"), 1e-6);
  }
  // The same request in JSON gives the same numbers.
  const json json_request = {{"inputs", {{{"name", "text"}, {"datatype", "BYTES"}, {"shape", {2}}, {"data", texts}}}}};
  const json j = c.post(kInfer, json_request.dump()).json();
  EXPECT_EQ(j["outputs"][0]["data"], json(labels));
  EXPECT_NEAR(j["outputs"][1]["data"][1].get<double>(), scores[1], 1e-6);
}

TEST_F(ServeCompat, BinaryAndJsonMixed) {
  HttpClient c(server_->port());
  const std::string data = bytes_tensor({kText});
  // Binary input, one binary and one JSON output, in the order asked.
  json header = {{"inputs", {text_input(1, data.size())}},
                 {"outputs", {{{"name", "scores"}, {"parameters", {{"binary_data", false}}}},
                              {{"name", "label"}, {"parameters", {{"binary_data", true}}}}}}};
  HttpResult r = post_binary(c, header.dump(), data);
  ASSERT_EQ(r.status, 200) << r.body;
  const BinaryAnswer a = decode_answer(r);
  ASSERT_EQ(a.header["outputs"].size(), 2u);
  EXPECT_EQ(a.header["outputs"][0]["name"], "scores");
  EXPECT_EQ(a.header["outputs"][0]["data"].size(), 2u);
  EXPECT_EQ(decode_bytes(a.data.at("label")), std::vector<std::string>{tei(c, kText)[0]["label"].get<std::string>()});
  // Binary input, JSON outputs: a plain JSON answer.
  header.erase("outputs");
  r = post_binary(c, header.dump(), data);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  EXPECT_EQ(r.headers.count("inference-header-content-length"), 0u);
  EXPECT_EQ(r.json()["outputs"][0]["data"][0], tei(c, kText)[0]["label"]);
  // JSON input, binary output; a request-level default that one output overrides.
  const json json_request = {{"inputs", {{{"name", "text"}, {"datatype", "BYTES"}, {"shape", {1}}, {"data", {kText}}}}},
                             {"parameters", {{"binary_data_output", true}}},
                             {"outputs", {{{"name", "label"}}, {{"name", "score"}, {"parameters", {{"binary_data", false}}}}}}};
  r = c.post(kInfer, json_request.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const BinaryAnswer b = decode_answer(r);
  EXPECT_EQ(b.data.count("label"), 1u);
  EXPECT_EQ(b.header["outputs"][1]["data"].size(), 1u);
  // Another input tensor before "text" takes its share of the binary data first.
  const std::string other(8, '\x01');
  header = {{"inputs",
             {{{"name", "other"}, {"datatype", "FP32"}, {"shape", {2}}, {"parameters", {{"binary_data_size", 8}}}},
              text_input(1, data.size())}}};
  r = post_binary(c, header.dump(), other + data);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["outputs"][0]["data"][0], tei(c, kText)[0]["label"]);
  // A header length that covers the whole body: all JSON, no binary data.
  r = c.request("POST", kInfer, json_request.dump(),
                {{"Inference-Header-Content-Length", std::to_string(json_request.dump().size())}});
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(ServeCompat, MalformedBinaryBodiesAre400) {
  HttpClient c(server_->port());
  const std::string data = bytes_tensor({kText, "好"});
  const std::string good = json{{"inputs", {text_input(2, data.size())}}}.dump();
  ASSERT_EQ(post_binary(c, good, data).status, 200);
  const std::string field = "Inference-Header-Content-Length";
  // The header length itself.
  expect_error(post_binary(c, good, data, std::to_string(good.size() + data.size() + 1)), 400, "validation", field);
  expect_error(post_binary(c, good, data, "abc"), 400, "validation", field);
  expect_error(post_binary(c, good, data, "-5"), 400, "validation", field);
  expect_error(post_binary(c, good, data, "99999999999999999999999"), 400, "validation", field);
  expect_error(post_binary(c, good, data, "3"), 400, "validation", "JSON");
  expect_error(post_binary(c, good, data, "0"), 400, "validation", "JSON");
  // binary_data_size beyond the body, huge, negative, not a number, trailing bytes.
  auto with_size = [&](const json& size) {
    json h = {{"inputs", {text_input(2, 0)}}};
    h["inputs"][0]["parameters"]["binary_data_size"] = size;
    return post_binary(c, h.dump(), data);
  };
  expect_error(with_size(data.size() + 1), 400, "validation", "binary_data_size");
  expect_error(with_size(18446744073709551615ull), 400, "validation", "binary_data_size");
  expect_error(with_size(-1), 400, "validation", "binary_data_size");
  expect_error(with_size("12"), 400, "validation", "binary_data_size");
  expect_error(with_size(data.size() - 3), 400, "validation", "belong to no input");
  expect_error(post_binary(c, good, data + "xyz"), 400, "validation", "belong to no input");
  // Two inputs whose sizes add past the end (each alone fits).
  json two = {{"inputs", {{{"name", "other"}, {"datatype", "BYTES"}, {"shape", {1}}, {"parameters", {{"binary_data_size", data.size()}}}},
                          text_input(2, data.size())}}};
  expect_error(post_binary(c, two.dump(), data), 400, "validation", "binary_data_size");
  // Element lengths: past the end, 0xffffffff, a length prefix cut short.
  auto with_data = [&](const std::string& d) {
    return post_binary(c, json{{"inputs", {text_input(1, d.size())}}}.dump(), d);
  };
  expect_error(with_data(u32le(100) + "abc"), 400, "validation", "only 3 are left");
  expect_error(with_data(u32le(0xffffffffu) + "abc"), 400, "validation", "BYTES");
  expect_error(with_data(bytes_tensor({"ok"}) + std::string("\x01\x00", 2)), 400, "validation", "4-byte length");
  // What the texts say: empty, invalid UTF-8, too many, a shape that disagrees.
  expect_error(with_data(bytes_tensor({""})), 422, "validation", "empty");
  expect_error(with_data(bytes_tensor({"\xff\xfe"})), 400, "validation", "UTF-8");
  expect_error(with_data(""), 422, "validation", "no texts");
  expect_error(post_binary(c, json{{"inputs", {text_input(5, 25)}}}.dump(), bytes_tensor({"a", "b", "c", "d", "e"})), 422,
               "validation", "max-client-batch-size");
  expect_error(post_binary(c, json{{"inputs", {text_input(3, data.size())}}}.dump(), data), 422, "validation", "shape");
  // Data both ways; binary_data_size without the header; a Content-Type that is neither.
  json both = {{"inputs", {text_input(2, data.size())}}};
  both["inputs"][0]["data"] = {"a", "b"};
  expect_error(post_binary(c, both.dump(), data), 400, "validation", "both");
  expect_error(c.post(kInfer, good), 400, "validation", "binary_data_size");
  expect_error(c.request("POST", kInfer, good + data,
                         {{field, std::to_string(good.size())}, {"Content-Type", "text/plain"}}),
               415, "validation", "octet-stream");
  json bad_params = {{"inputs", {text_input(2, data.size())}}};
  bad_params["inputs"][0]["parameters"] = "x";
  expect_error(post_binary(c, bad_params.dump(), data), 400, "validation", "parameters");
  // Outputs: unknown, twice, classification, wrong binary_data type.
  auto with_outputs = [&](const json& outputs) {
    return post_binary(c, json{{"inputs", {text_input(2, data.size())}}, {"outputs", outputs}}.dump(), data);
  };
  expect_error(with_outputs({{{"name", "logits"}}}), 400, "validation", "unknown output");
  expect_error(with_outputs({{{"name", "label"}}, {{"name", "label"}}}), 400, "validation", "twice");
  expect_error(with_outputs({{{"name", "label"}, {"parameters", {{"classification", 2}}}}}), 400, "validation", "classification");
  expect_error(with_outputs({{{"name", "label"}, {"parameters", {{"binary_data", "yes"}}}}}), 400, "validation", "binary_data");
  expect_error(with_outputs("label"), 400, "validation", "outputs");
  // The server answers normally afterwards.
  EXPECT_EQ(post_binary(c, good, data).status, 200);
}

// ---- KServe v1 ----

TEST_F(ServeCompat, KServeV1) {
  HttpClient c(server_->port());
  HttpResult r = c.get("/v1/models/tiny");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), json({{"name", "tiny"}, {"ready", true}}));
  EXPECT_EQ(c.get("/v1/models").json()["models"], json({"tiny"}));
  r = c.post("/v1/models/tiny:predict", json{{"instances", {kText, {{"text", "物流太慢了"}}}}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const json predictions = r.json()["predictions"];
  ASSERT_EQ(predictions.size(), 2u) << r.body;
  const std::vector<std::string> texts = {kText, "物流太慢了"};
  for (std::size_t i = 0; i < 2; ++i) {
    const json expected = tei(c, texts[i]);
    EXPECT_EQ(predictions[i]["label"], expected[0]["label"]);
    EXPECT_NEAR(predictions[i]["score"].get<double>(), expected[0]["score"].get<double>(), 1e-6);
    for (const json& e : expected)
      EXPECT_NEAR(predictions[i]["scores"][e["label"].get<std::string>()].get<double>(), e["score"].get<double>(), 1e-6);
  }
  EXPECT_EQ(r.headers.count("x-compute-tokens"), 1u);
  EXPECT_EQ(c.post("/v1/models/tiny%3Apredict", json{{"instances", {"好"}}}.dump()).status, 200);
}

TEST_F(ServeCompat, KServeV1Errors) {
  HttpClient c(server_->port());
  expect_error(c.get("/v1/models/other"), 404, "not_found", "other");
  expect_error(c.post("/v1/models/other:predict", R"({"instances": ["a"]})"), 404, "not_found", "other");
  // :explain is served (analysis_api_test.cc); another verb is not.
  expect_error(c.post("/v1/models/tiny:generate", R"({"instances": ["a"]})"), 404, "not_found", "generate");
  expect_error(c.get("/v1/models/tiny:predict"), 405, "method_not_allowed");
  expect_error(c.post("/v1/models/tiny", "{}"), 405, "method_not_allowed");
  expect_error(c.post("/v1/models/tiny:predict", "{"), 400, "validation", "JSON");
  expect_error(c.post("/v1/models/tiny:predict", "[]"), 400, "validation", "object");
  expect_error(c.post("/v1/models/tiny:predict", R"({"inputs": ["a"]})"), 400, "validation", "instances");
  expect_error(c.post("/v1/models/tiny:predict", R"({"instances": "a"})"), 400, "validation", "instances");
  expect_error(c.post("/v1/models/tiny:predict", R"({"instances": [1]})"), 400, "validation", "instances");
  expect_error(c.post("/v1/models/tiny:predict", R"({"instances": [{"txt": "a"}]})"), 400, "validation", "text");
  expect_error(c.post("/v1/models/tiny:predict", R"({"instances": []})"), 422, "validation", "empty");
  expect_error(c.post("/v1/models/tiny:predict", R"({"instances": ["a", ""]})"), 422, "validation", "input 1");
  expect_error(c.post("/v1/models/tiny:predict", R"({"instances": ["a", "b", "c", "d", "e"]})"), 422, "validation",
               "max-client-batch-size");
  expect_error(c.post("/v1/models/tiny:predict", "{\"instances\": [\"\xff\"]}"), 400, "validation");
  expect_error(c.request("POST", "/v1/models/tiny:predict", R"({"instances": ["a"]})", {{"Content-Type", "text/plain"}}),
               415, "validation");
  std::string big(70000, 'a');
  expect_error(c.post("/v1/models/tiny:predict", json{{"instances", {big}}}.dump()), 413, "validation", "payload-limit");
  EXPECT_EQ(HttpClient(server_->port()).get("/v1/models/tiny").status, 200);
}

TEST_F(ServeCompat, OpenApiDescribesTheCompatRoutes) {
  HttpClient c(server_->port());
  const json doc = c.get("/openapi.json").json();
  EXPECT_TRUE(doc["paths"]["/"].contains("post"));
  EXPECT_TRUE(doc["paths"].contains("/v1/models/{model}:predict"));
  EXPECT_TRUE(doc["paths"].contains("/v1/models/{model}"));
  const json& infer = doc["paths"]["/v2/models/{model}/infer"]["post"];
  EXPECT_TRUE(infer["requestBody"]["content"].contains("application/octet-stream"));
  EXPECT_TRUE(infer["responses"]["200"]["headers"].contains("Inference-Header-Content-Length"));
  EXPECT_TRUE(doc["components"]["schemas"]["PredictRequest"]["properties"].contains("parameters"));
}

}  // namespace
}  // namespace senti::test
