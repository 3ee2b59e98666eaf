// "Why and where" in every API (serving/analysis_answers.h), against the real `senti serve` on the tiny
// model: explanation spans index the text in code points (emoji and mixed Latin/CJK included), sentences
// equal predicting each sentence alone, chunk counts follow the window rule, every API answers the same
// analysis, bad values are 400s that name the choices, too much work is a 422, and plain requests stay
// answered while a big analysis runs.
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/sanitized_build.h"
#include "serving/expect_error.h"
#include "serving/http_client.h"
#include "serving/ranked_answers.h"
#include "serving/server_process.h"

// A named namespace: in a unity build the other API tests' anonymous helpers share this file's scope.
namespace senti::test::analysis_api {

using nlohmann::json;

const std::string kMixed = "这件衣服的质量真的太棒了 great 😀 quality，but 物流slow!";
const std::string kSentences = "质量很好。物流太慢了！还行吧";

// The code points of a UTF-8 text, and a piece of it by code points ([start, end), as the spans are).
std::vector<std::string> code_points(const std::string& s) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

std::string piece(const std::string& text, std::size_t start, std::size_t end) {
  const std::vector<std::string> cps = code_points(text);
  std::string out;
  for (std::size_t i = start; i < end && i < cps.size(); ++i) out += cps[i];
  return out;
}

// The explanation's words index the text: text[start:end] is the word, in order, not overlapping.
void expect_words_index(const json& explanation, const std::string& text) {
  ASSERT_TRUE(explanation.is_array()) << explanation;
  ASSERT_FALSE(explanation.empty());
  std::size_t previous_end = 0;
  for (const json& w : explanation) {
    const std::size_t start = w.at("start").get<std::size_t>(), end = w.at("end").get<std::size_t>();
    EXPECT_LT(start, end) << w;
    EXPECT_GE(start, previous_end) << w;
    EXPECT_EQ(piece(text, start, end), w.at("text").get<std::string>()) << w;
    EXPECT_TRUE(std::isfinite(w.at("weight").get<double>())) << w;
    previous_end = end;
  }
}

bool has_word(const json& explanation, const std::string& word) {
  for (const json& w : explanation)
    if (w["text"] == word) return true;
  return false;
}

// Windows of a text of n tokens with long_text=chunk (senti/analysis.h): `content` tokens each, a new one
// every 3/4 window, the last ending at the text's end.
std::size_t expected_chunks(std::size_t n, std::size_t content) {
  if (n <= content) return 1;
  const std::size_t stride = content * 3 / 4;
  std::size_t count = 0;
  for (std::size_t from = 0;; from += stride) {
    ++count;
    if (std::min(from, n - content) + content >= n) break;
  }
  return count;
}

std::string repeat(const std::string& s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

class ServeAnalysis : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess({"--max-client-batch-size", "4", "--payload-limit", "400000"});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_->port(), 0); }
  static HttpClient client() { return HttpClient(server_->port()); }

  static json seed(HttpClient& c, const std::string& text, const std::string& extra = "") {
    const HttpResult r = c.get("/predict?text=" + url_encode(text) + extra);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json();
  }
  static json post_ok(HttpClient& c, const std::string& target, const json& body) {
    const HttpResult r = c.post(target, body.dump());
    EXPECT_EQ(r.status, 200) << target << " " << r.body;
    return r.json();
  }
  static inline ServerProcess* server_ = nullptr;
};

TEST_F(ServeAnalysis, SeedExplanationIndexesTheTextInCodePoints) {
  HttpClient c = client();
  const json plain = seed(c, kMixed);
  const json j = seed(c, kMixed, "&explain=true");
  for (const char* key : {"text", "sentiment", "label", "score", "latency_ms", "explanation"})
    EXPECT_TRUE(j.contains(key)) << key << " " << j;
  EXPECT_FALSE(j.contains("sentences"));
  EXPECT_FALSE(j.contains("chunks"));
  EXPECT_EQ(j["text"], kMixed);
  EXPECT_EQ(j["label"], plain["label"]);
  EXPECT_EQ(j["sentiment"], plain["sentiment"]);
  EXPECT_NEAR(j["score"].get<double>(), plain["score"].get<double>(), 1e-5);
  expect_words_index(j["explanation"], kMixed);
  for (const char* word : {"这", "棒", "great", "😀", "quality", "，", "物", "slow", "!"})
    EXPECT_TRUE(has_word(j["explanation"], word)) << word << " " << j["explanation"];
  // explain accepts 1 and false/0 (then no explanation, the same prediction).
  EXPECT_TRUE(seed(c, kMixed, "&explain=1").contains("explanation"));
  const json off = seed(c, kMixed, "&explain=false");
  EXPECT_FALSE(off.contains("explanation"));
  EXPECT_EQ(off["label"], plain["label"]);
  EXPECT_FALSE(seed(c, kMixed, "&explain=0").contains("explanation"));
}

TEST_F(ServeAnalysis, SeedSentencesEqualPredictingEachSentenceAlone) {
  HttpClient c = client();
  const json j = seed(c, kSentences, "&granularity=sentence");
  ASSERT_TRUE(j.contains("sentences")) << j;
  EXPECT_FALSE(j.contains("explanation"));
  EXPECT_FALSE(j.contains("chunks"));
  const json& sentences = j["sentences"];
  ASSERT_EQ(sentences.size(), 3u) << sentences;
  const std::vector<std::string> expected = {"质量很好。", "物流太慢了！", "还行吧"};
  for (std::size_t i = 0; i < sentences.size(); ++i) {
    const json& s = sentences[i];
    EXPECT_EQ(s["text"], expected[i]);
    EXPECT_EQ(piece(kSentences, s["start"], s["end"]), s["text"].get<std::string>());
    EXPECT_FALSE(s.contains("chunks"));
    const json alone = seed(c, s["text"].get<std::string>());
    EXPECT_EQ(s["label"], alone["label"]) << s;
    EXPECT_EQ(s["sentiment"], alone["sentiment"]) << s;
    EXPECT_NEAR(s["score"].get<double>(), alone["score"].get<double>(), 1e-4) << s;
  }
  // With long_text, every sentence and the text say how many windows they took.
  const json chunked = seed(c, kSentences, "&granularity=sentence&long_text=chunk&explain=true");
  EXPECT_EQ(chunked["chunks"], 1);
  for (const json& s : chunked["sentences"]) EXPECT_EQ(s["chunks"], 1) << s;
  expect_words_index(chunked["explanation"], kSentences);
}

TEST_F(ServeAnalysis, ChunksFollowTheWindowRule) {
  HttpClient c = client();
  const std::size_t max_length = c.get("/info").json()["max_input_length"].get<std::size_t>();
  const std::size_t content = max_length - 2;
  // One token per CJK character: 1200 tokens.
  const std::string text = repeat("好", 1200);
  const json chunked = seed(c, text, "&long_text=chunk");
  EXPECT_EQ(chunked["chunks"].get<std::size_t>(), expected_chunks(1200, content));
  EXPECT_GT(chunked["chunks"].get<std::size_t>(), 1u);
  EXPECT_EQ(seed(c, text, "&long_text=truncate")["chunks"], 1);
  EXPECT_EQ(seed(c, "好", "&long_text=chunk")["chunks"], 1);
  // Truncated, the answer is the plain one.
  const json plain = seed(c, text);
  const json truncated = seed(c, text, "&long_text=truncate");
  EXPECT_EQ(truncated["label"], plain["label"]);
  EXPECT_NEAR(truncated["score"].get<double>(), plain["score"].get<double>(), 1e-5);
}

TEST_F(ServeAnalysis, BadValuesAre400sNamingTheChoices) {
  HttpClient c = client();
  const std::string base = "/predict?text=" + url_encode(kMixed);
  expect_error(c.get(base + "&granularity=paragraph"), 400, "validation", "sentence");
  expect_error(c.get(base + "&long_text=split"), 400, "validation", "chunk");
  expect_error(c.get(base + "&explain=maybe"), 400, "validation", "true or false");
  expect_error(c.post("/predict", json{{"inputs", kMixed}, {"parameters", {{"granularity", "paragraph"}}}}.dump()), 400,
               "validation", "text or sentence");
  expect_error(c.post("/predict", json{{"inputs", kMixed}, {"parameters", {{"long_text", 3}}}}.dump()), 400,
               "validation", "chunk");
  expect_error(c.post("/predict", json{{"inputs", kMixed}, {"explain", 2}}.dump()), 400, "validation", "explain");
  expect_error(c.post("/predict", json{{"inputs", kMixed}, {"explain", json::array()}}.dump()), 400, "validation",
               "true or false");
  EXPECT_TRUE(post_ok(c, "/predict", {{"inputs", kMixed}, {"explain", 1}}).contains("explanation"));
  expect_error(c.post("/v2/models/tiny/infer",
                      json{{"inputs", {{{"name", "text"}, {"shape", {1}}, {"datatype", "BYTES"}, {"data", {kMixed}}}}},
                           {"parameters", {{"long_text", "split"}}}}
                          .dump()),
               400, "validation", "truncate or chunk");
  expect_error(c.post("/v1/models/tiny:predict", json{{"instances", {kMixed}}, {"parameters", {{"explain", "yes"}}}}.dump()),
               400, "validation", "explain");
  expect_error(c.post("/v1/models/tiny:predict", json{{"instances", {kMixed}}, {"parameters", "explain"}}.dump()), 400,
               "validation", "parameters");
  // Analyses take single texts; empty texts are 422 as in the plain API.
  expect_error(c.post("/predict", json{{"inputs", json::array({json::array({"a", "b"})})}, {"parameters", {{"explain", true}}}}.dump()), 422,
               "validation", "text pairs");
  expect_error(c.get("/predict?text=%20&explain=true"), 422, "validation", "empty");
  EXPECT_EQ(c.get("/health").status, 200);
}

TEST_F(ServeAnalysis, TeiAnswersAnObjectPerInput) {
  HttpClient c = client();
  const json ranking = post_ok(c, "/predict", {{"inputs", kMixed}});
  ASSERT_TRUE(ranking.is_array());
  // A single text: one object.
  for (const char* target : {"/predict", "/"}) {
    const json one = post_ok(c, target, {{"inputs", kMixed}, {"parameters", {{"explain", true}}}});
    ASSERT_TRUE(one.is_object()) << one;
    EXPECT_TRUE(same_ranked_answer(one["predictions"], ranking)) << one["predictions"] << ranking;
    expect_words_index(one["explanation"], kMixed);
    EXPECT_FALSE(one.contains("sentences"));
    EXPECT_FALSE(one.contains("chunks"));
  }
  // Top-level, like TEI's own options.
  EXPECT_TRUE(post_ok(c, "/predict", {{"inputs", kMixed}, {"explain", true}}).contains("explanation"));
  // A list: a list of objects, in order, each its text's.
  const json many = post_ok(c, "/predict",
                            {{"inputs", {kMixed, kSentences}},
                             {"parameters", {{"granularity", "sentence"}, {"long_text", "chunk"}, {"top_k", 1}}}});
  ASSERT_TRUE(many.is_array());
  ASSERT_EQ(many.size(), 2u);
  EXPECT_EQ(many[1]["sentences"].size(), 3u);
  for (const json& o : many) {
    EXPECT_EQ(o["predictions"].size(), 1u);  // top_k applies to the ranking
    EXPECT_EQ(o["chunks"], 1);
    EXPECT_FALSE(o.contains("explanation"));
  }
  EXPECT_EQ(many[0]["predictions"][0]["label"], ranking[0]["label"]);
  // Without the analysis parameters nothing changes: the Inference API shape.
  const json hf = post_ok(c, "/", {{"inputs", kMixed}, {"parameters", {{"top_k", 2}}}});
  ASSERT_TRUE(hf.is_array());
  EXPECT_TRUE(same_ranked_answer(hf[0], ranking));
}

TEST_F(ServeAnalysis, TruncateFalseAppliesUnlessChunked) {
  HttpClient c = client();
  const std::string text = repeat("好", 700);
  expect_error(c.post("/predict", json{{"inputs", text}, {"truncate", false}, {"parameters", {{"explain", false}}}}.dump()),
               422, "validation", "tokens long");
  const json chunked =
      post_ok(c, "/predict", {{"inputs", text}, {"truncate", false}, {"parameters", {{"long_text", "chunk"}}}});
  EXPECT_EQ(chunked["chunks"], 2);
}

TEST_F(ServeAnalysis, TooMuchWorkIsA422AndTheServerLivesOn) {
  HttpClient c = client();
  const std::string text = repeat("good ", 20000);  // 100,000 characters
  const HttpResult r =
      c.post("/predict", json{{"inputs", text}, {"parameters", {{"explain", true}, {"long_text", "chunk"}}}}.dump());
  expect_error(r, 422, "validation", "--max-analysis-tokens");
  // Four texts that each fit but together do not.
  const std::string quarter = repeat("好", 3000);
  expect_error(c.post("/predict", json{{"inputs", {quarter, quarter, quarter, quarter}},
                                       {"parameters", {{"explain", true}, {"long_text", "chunk"}}}}
                                      .dump()),
               422, "validation", "--max-analysis-tokens");
  EXPECT_EQ(c.get("/health").status, 200);
  EXPECT_TRUE(seed(c, kMixed, "&explain=true").contains("explanation"));
}

// One KServe v2 infer request with every analysis parameter.
json infer_request(const std::vector<std::string>& texts, const json& parameters, const json& outputs = json()) {
  json body = {{"inputs", {{{"name", "text"}, {"shape", {texts.size()}}, {"datatype", "BYTES"}, {"data", texts}}}},
               {"parameters", parameters}};
  if (!outputs.is_null()) body["outputs"] = outputs;
  return body;
}

json output_named(const json& answer, const std::string& name) {
  for (const json& o : answer["outputs"])
    if (o["name"] == name) return o;
  return json();
}

void expect_same_explanation(const json& a, const json& b) {
  ASSERT_EQ(a.size(), b.size()) << a << "\n" << b;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["text"], b[i]["text"]);
    EXPECT_EQ(a[i]["start"], b[i]["start"]);
    EXPECT_EQ(a[i]["end"], b[i]["end"]);
    EXPECT_NEAR(a[i]["weight"].get<double>(), b[i]["weight"].get<double>(), 1e-4);
  }
}

TEST_F(ServeAnalysis, KServeV2AddsOutputTensors) {
  HttpClient c = client();
  const std::vector<std::string> texts = {kMixed, kSentences};
  const json all = {{"explain", true}, {"granularity", "sentence"}, {"long_text", "chunk"}};
  const json j = post_ok(c, "/v2/models/tiny/infer", infer_request(texts, all));
  ASSERT_EQ(j["outputs"].size(), 6u) << j;
  const json explanation = output_named(j, "explanation"), sentences = output_named(j, "sentences"),
             chunks = output_named(j, "chunks");
  EXPECT_EQ(explanation["datatype"], "BYTES");
  EXPECT_EQ(explanation["shape"], json({2}));
  EXPECT_EQ(sentences["datatype"], "BYTES");
  EXPECT_EQ(chunks["datatype"], "INT64");
  EXPECT_EQ(chunks["data"], json({1, 1}));
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const json words = json::parse(explanation["data"][i].get<std::string>());
    expect_words_index(words, texts[i]);
    const json tei = post_ok(c, "/predict", {{"inputs", texts[i]}, {"parameters", all}});
    expect_same_explanation(words, tei["explanation"]);
    const json s = json::parse(sentences["data"][i].get<std::string>());
    ASSERT_EQ(s.size(), tei["sentences"].size());
    for (std::size_t k = 0; k < s.size(); ++k) {
      EXPECT_EQ(s[k]["text"], tei["sentences"][k]["text"]);
      EXPECT_EQ(s[k]["label"], tei["sentences"][k]["label"]);
      EXPECT_EQ(s[k]["chunks"], 1);
    }
    EXPECT_EQ(output_named(j, "label")["data"][i], tei["predictions"][0]["label"]);
  }
  // Only what is asked for; only the asked-for analysis outputs by default.
  const json only = post_ok(c, "/v2/models/tiny/infer", infer_request({kMixed}, all, {{{"name", "explanation"}}}));
  ASSERT_EQ(only["outputs"].size(), 1u);
  EXPECT_EQ(only["outputs"][0]["name"], "explanation");
  const json explain_only = post_ok(c, "/v2/models/tiny/infer", infer_request({kMixed}, {{"explain", true}}));
  ASSERT_EQ(explain_only["outputs"].size(), 4u);
  EXPECT_EQ(explain_only["outputs"][3]["name"], "explanation");
  // An analysis output without its parameter says which parameter it needs.
  expect_error(c.post("/v2/models/tiny/infer", infer_request({kMixed}, json::object(), {{{"name", "explanation"}}}).dump()),
               400, "validation", "\"explain\": true");
  expect_error(c.post("/v2/models/tiny/infer", infer_request({kMixed}, {{"explain", true}}, {{{"name", "chunks"}}}).dump()),
               400, "validation", "long_text");
  // Without parameters the answer is as before.
  EXPECT_EQ(post_ok(c, "/v2/models/tiny/infer", infer_request({kMixed}, json::object()))["outputs"].size(), 3u);
}

std::string le32(std::uint32_t v) {
  std::string out;
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xffu));
  return out;
}

TEST_F(ServeAnalysis, KServeV2BinaryTensors) {
  HttpClient c = client();
  const std::string data = le32(static_cast<std::uint32_t>(kMixed.size())) + kMixed;
  const json header = {
      {"inputs",
       {{{"name", "text"}, {"shape", {1}}, {"datatype", "BYTES"}, {"parameters", {{"binary_data_size", data.size()}}}}}},
      {"outputs", {{{"name", "explanation"}}, {{"name", "chunks"}}}},
      {"parameters", {{"explain", true}, {"long_text", "chunk"}, {"binary_data_output", true}}}};
  const std::string h = header.dump();
  const HttpResult r = c.request("POST", "/v2/models/tiny/infer", h + data,
                                 {{"Inference-Header-Content-Length", std::to_string(h.size())},
                                  {"Content-Type", "application/octet-stream"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const std::size_t header_length = std::stoul(r.headers.at("inference-header-content-length"));
  const json answer = json::parse(r.body.substr(0, header_length));
  ASSERT_EQ(answer["outputs"].size(), 2u);
  const std::size_t explanation_size = answer["outputs"][0]["parameters"]["binary_data_size"];
  EXPECT_EQ(answer["outputs"][1]["datatype"], "INT64");
  EXPECT_EQ(answer["outputs"][1]["parameters"]["binary_data_size"], 8);
  const std::string binary = r.body.substr(header_length);
  ASSERT_EQ(binary.size(), explanation_size + 8);
  std::uint32_t length = 0;
  for (int i = 3; i >= 0; --i) length = (length << 8) | static_cast<unsigned char>(binary[static_cast<std::size_t>(i)]);
  ASSERT_EQ(length + 4, explanation_size);
  expect_words_index(json::parse(binary.substr(4, length)), kMixed);
  std::int64_t chunks = 0;
  for (int i = 7; i >= 0; --i) chunks = (chunks << 8) | static_cast<unsigned char>(binary[explanation_size + static_cast<std::size_t>(i)]);
  EXPECT_EQ(chunks, 1);
}

TEST_F(ServeAnalysis, KServeV1PredictAndExplain) {
  HttpClient c = client();
  const json plain = post_ok(c, "/v1/models/tiny:predict", {{"instances", {kMixed, kSentences}}});
  const json j = post_ok(c, "/v1/models/tiny:predict",
                         {{"instances", {kMixed, {{"text", kSentences}}}},
                          {"parameters", {{"granularity", "sentence"}, {"long_text", "truncate"}}}});
  ASSERT_EQ(j["predictions"].size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const json& p = j["predictions"][i];
    EXPECT_EQ(p["label"], plain["predictions"][i]["label"]);
    EXPECT_NEAR(p["score"].get<double>(), plain["predictions"][i]["score"].get<double>(), 1e-5);
    EXPECT_TRUE(p["scores"].is_object());
    EXPECT_EQ(p["chunks"], 1);
    EXPECT_FALSE(p.contains("explanation"));
  }
  EXPECT_EQ(j["predictions"][1]["sentences"].size(), 3u);
  const json e = post_ok(c, "/v1/models/tiny:explain", {{"instances", {kMixed, kSentences}}});
  ASSERT_EQ(e["explanations"].size(), 2u) << e;
  EXPECT_FALSE(e.contains("predictions"));
  expect_words_index(e["explanations"][0]["explanation"], kMixed);
  expect_words_index(e["explanations"][1]["explanation"], kSentences);
  EXPECT_EQ(e["explanations"][0]["label"], plain["predictions"][0]["label"]);
  const json tei = post_ok(c, "/predict", {{"inputs", kSentences}, {"parameters", {{"explain", true}}}});
  expect_same_explanation(e["explanations"][1]["explanation"], tei["explanation"]);
  expect_error(c.post("/v1/models/tiny:explain", json{{"instances", {kMixed}}, {"parameters", {{"explain", false}}}}.dump()),
               400, "validation", ":predict");
  expect_error(c.get("/v1/models/tiny:explain"), 405, "method_not_allowed");
  expect_error(c.post("/v1/models/tiny:classify", json{{"instances", {kMixed}}}.dump()), 404, "not_found", ":explain");
}

TEST_F(ServeAnalysis, OpenApiDescribesTheAnalysis) {
  HttpClient c = client();
  const json doc = c.get("/openapi.json").json();
  const json& paths = doc["paths"];
  ASSERT_TRUE(paths.contains("/v1/models/{model}:explain"));
  std::vector<std::string> query;
  for (const json& p : paths["/predict"]["get"]["parameters"]) query.push_back(p["name"]);
  EXPECT_EQ(query, (std::vector<std::string>{"text", "explain", "granularity", "long_text"}));
  const json& schemas = doc["components"]["schemas"];
  for (const char* s : {"WordWeight", "SentenceResult", "AnalysisAnswer", "V1ExplainResponse"})
    EXPECT_TRUE(schemas.contains(s)) << s;
  for (const char* p : {"explain", "granularity", "long_text"}) {
    EXPECT_TRUE(schemas["PredictRequest"]["properties"]["parameters"]["properties"].contains(p)) << p;
    EXPECT_TRUE(schemas["InferRequest"]["properties"]["parameters"]["properties"].contains(p)) << p;
    EXPECT_TRUE(schemas["V1PredictRequest"]["properties"]["parameters"]["properties"].contains(p)) << p;
  }
  for (const char* f : {"explanation", "sentences", "chunks"}) {
    EXPECT_TRUE(schemas["SeedPrediction"]["properties"].contains(f)) << f;
    EXPECT_TRUE(schemas["AnalysisAnswer"]["properties"].contains(f)) << f;
    EXPECT_TRUE(schemas["V1Prediction"]["properties"].contains(f)) << f;
  }
  EXPECT_EQ(schemas["InferRequestedOutput"]["properties"]["name"]["enum"].size(), 6u);
  EXPECT_EQ(c.get("/info").json()["max_analysis_tokens"], 131072);
}

// Sizes of the long analyses below: a few seconds of work each in the plain build; under AddressSanitizer,
// where everything runs some ten times slower, a third of that.
constexpr std::size_t kBigExplainChars = kAddressSanitized ? 4000 : 12000;
constexpr std::size_t kInFlightExplainChars = kAddressSanitized ? 2000 : 6000;

// The request a big analysis makes: explain a long text in windows.
json big_explain_body(std::size_t chars) { return {{"inputs", repeat("好", chars)}, {"parameters", {{"explain", true}, {"long_text", "chunk"}}}}; }

// Polls /metrics until the gauge is at least `at_least` (or a few seconds pass); returns its last value.
double wait_for_gauge(HttpClient& c, const std::string& gauge, double at_least) {
  double value = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string metrics = c.get("/metrics").body;
    const std::size_t at = metrics.find("\n" + gauge + " ");
    if (at != std::string::npos) value = std::stod(metrics.substr(at + gauge.size() + 2));
    if (value >= at_least) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return value;
}

// Plain requests are answered while a big analysis runs: its sequences are low priority, so a plain
// text waits for at most the batch already running, never for the analysis.
TEST(ServeAnalysisPriority, PlainRequestsStayAnsweredDuringABigExplain) {
  // Small batches (a running one is short) next to a long analysis.
  ServerProcess server({"--max-batch-requests", "8", "--max-batch-tokens", "1024", "--max-analysis-tokens", "2000000",
                        "--payload-limit", "400000"});
  ASSERT_NE(server.port(), 0);
  std::promise<HttpResult> explained;
  std::future<HttpResult> explain_done = explained.get_future();
  std::thread explain([&] {
    HttpClient c(server.port(), std::chrono::seconds(300));
    explained.set_value(c.post("/predict", big_explain_body(kBigExplainChars).dump()));
  });
  HttpClient c(server.port());
  EXPECT_GT(wait_for_gauge(c, "senti_queue_depth", 100), 100) << "the analysis is queued";
  int answered_during = 0;
  double worst_queue_ms = 0;
  while (explain_done.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready && answered_during < 20) {
    const HttpResult r = c.get("/predict?text=" + url_encode(kMixed));
    ASSERT_EQ(r.status, 200) << r.body;
    if (explain_done.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready) break;
    ++answered_during;
    worst_queue_ms = std::max(worst_queue_ms, std::stod(r.headers.at("x-queue-time")));
  }
  const HttpResult big = explain_done.get();
  explain.join();
  ASSERT_EQ(big.status, 200) << big.body.substr(0, 300);
  const double big_ms = std::stod(big.headers.at("x-total-time"));
  EXPECT_GE(answered_during, 3) << "the explain took " << big_ms << " ms";
  // A plain text waited for one running batch at most, a small part of the analysis.
  EXPECT_LT(worst_queue_ms, big_ms / 4) << "the explain took " << big_ms << " ms";
  EXPECT_EQ(json::parse(big.body)["explanation"].size(), kBigExplainChars);
  std::printf("big explain: %.0f ms; %d plain requests answered meanwhile, the longest queued %.2f ms\n", big_ms,
              answered_during, worst_queue_ms);
}

// Analysis requests take a slot of --max-concurrent-requests like any other.
TEST(ServeAnalysisPriority, AnalysisRequestsCountInTheConcurrencyLimit) {
  ServerProcess server({"--max-concurrent-requests", "1", "--max-analysis-tokens", "2000000", "--payload-limit", "400000"});
  ASSERT_NE(server.port(), 0);
  std::promise<HttpResult> explained;
  std::future<HttpResult> explain_done = explained.get_future();
  std::thread explain([&] {
    HttpClient c(server.port(), std::chrono::seconds(300));
    explained.set_value(c.post("/predict", big_explain_body(kInFlightExplainChars).dump()));
  });
  HttpClient c(server.port());
  ASSERT_GE(wait_for_gauge(c, "senti_requests_in_flight", 1), 1);
  expect_error(c.get("/predict?text=" + url_encode(kMixed)), 429, "overloaded", "--max-concurrent-requests");
  EXPECT_EQ(explain_done.get().status, 200);
  explain.join();
  EXPECT_EQ(c.get("/predict?text=" + url_encode(kMixed)).status, 200);
}

// The analyses in flight together are capped (8 x --max-analysis-tokens): past it a request is 429, and the
// work it would have queued is given back when the analyses finish.
TEST(ServeAnalysisPriority, AnalysisWorkInFlightIsCapped) {
  constexpr std::size_t kLimit = kAddressSanitized ? 8000 : 20000;
  ServerProcess server({"--max-analysis-tokens", std::to_string(kLimit), "--max-batch-requests", "8"});
  ASSERT_NE(server.port(), 0);
  const std::string body =
      json{{"inputs", repeat("好", kAddressSanitized ? 250 : 650)}, {"parameters", {{"explain", true}, {"long_text", "chunk"}}}}
          .dump();
  // The work of one request (x-compute-tokens), and so how many fit under the cap together.
  HttpClient c(server.port());
  const HttpResult one = c.post("/predict", body);
  ASSERT_EQ(one.status, 200) << one.body;
  const std::size_t work = std::stoul(one.headers.at("x-compute-tokens"));
  ASSERT_LE(work, kLimit);
  const std::size_t fit = 8 * kLimit / work;
  auto send_all = [&](std::size_t n) {
    std::vector<std::future<HttpResult>> answers;
    for (std::size_t i = 0; i < n; ++i)
      answers.push_back(std::async(std::launch::async, [&] {
        HttpClient client(server.port(), std::chrono::seconds(300));
        return client.post("/predict", body);
      }));
    std::vector<HttpResult> out;
    for (auto& a : answers) out.push_back(a.get());
    return out;
  };
  std::size_t ok = 0, refused = 0;
  for (const HttpResult& r : send_all(fit + 3)) {
    if (r.status == 200) {
      ++ok;
    } else {
      expect_error(r, 429, "overloaded", "--max-analysis-tokens");
      ++refused;
    }
  }
  EXPECT_GE(ok, fit);
  EXPECT_GE(refused, 1u);
  // All given back: as many as fit, at once, again.
  for (const HttpResult& r : send_all(fit)) EXPECT_EQ(r.status, 200) << r.body.substr(0, 200);
}

}  // namespace senti::test::analysis_api
