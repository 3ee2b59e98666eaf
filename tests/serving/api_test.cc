// Every endpoint of the real `senti serve` and each error case, status and error body.
#include <signal.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <functional>
#include <future>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "serving/expect_error.h"
#include "serving/http_client.h"
#include "serving/serve_fixture.h"
#include "serving/server_process.h"

namespace senti::test {
namespace {

using nlohmann::json;


std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

class ServeApi : public ServeFixture {};

TEST_F(ServeApi, SeedGetPredict) {
  HttpClient c(server_->port());
  const HttpResult r = c.get("/predict?text=" + url_encode(kText));
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  const json j = r.json();
  EXPECT_EQ(j["text"], kText);
  EXPECT_TRUE(j["label"] == "positive" || j["label"] == "negative") << j;
  EXPECT_EQ(j["sentiment"], j["label"]);  // the tiny model has no display labels
  EXPECT_GT(j["score"].get<double>(), 0.0);
  EXPECT_LE(j["score"].get<double>(), 1.0);
  EXPECT_GE(j["latency_ms"].get<double>(), 0.0);
  // The seed's key order.
  EXPECT_EQ(r.body.rfind("{\"text\":", 0), 0u) << r.body;
  for (const char* h : {"x-total-time", "x-tokenization-time", "x-queue-time", "x-inference-time", "x-compute-tokens"})
    EXPECT_EQ(r.headers.count(h), 1u) << h;
  EXPECT_EQ(r.headers.at("x-compute-tokens"), "14");  // [CLS] + 12 characters + [SEP]
}

TEST_F(ServeApi, SeedGetDecodesPercentAndPlus) {
  HttpClient c(server_->port());
  HttpResult r = c.get("/predict?lang=zh&text=a+b%20c%2B%E5%A5%BD");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["text"], "a b c+好");
  // Raw UTF-8 in the target, as curl sends it.
  r = c.get("/predict?text=" + kText);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["text"], kText);
}

TEST_F(ServeApi, TeiSingleIsSortedAndMatchesSeed) {
  HttpClient c(server_->port());
  const HttpResult r = c.post("/predict", json{{"inputs", kText}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = r.json();
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 2u);
  EXPECT_GE(j[0]["score"].get<double>(), j[1]["score"].get<double>());
  EXPECT_NEAR(j[0]["score"].get<double>() + j[1]["score"].get<double>(), 1.0, 1e-5);
  EXPECT_NE(j[0]["label"], j[1]["label"]);
  const json seed = c.get("/predict?text=" + url_encode(kText)).json();
  EXPECT_EQ(seed["label"], j[0]["label"]);
  EXPECT_NEAR(seed["score"].get<double>(), j[0]["score"].get<double>(), 1e-6);
  EXPECT_EQ(r.headers.count("x-total-time"), 1u);
}

TEST_F(ServeApi, TeiRawScoresAreLogits) {
  HttpClient c(server_->port());
  const json probs = c.post("/predict", json{{"inputs", kText}}.dump()).json();
  const HttpResult r = c.post("/predict", json{{"inputs", kText}, {"raw_scores", true}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const json logits = r.json();
  ASSERT_EQ(logits.size(), 2u);
  EXPECT_EQ(logits[0]["label"], probs[0]["label"]);
  // softmax(logits) == probabilities
  const double a = logits[0]["score"], b = logits[1]["score"];
  EXPECT_NEAR(1.0 / (1.0 + std::exp(b - a)), probs[0]["score"].get<double>(), 1e-5);
  EXPECT_GT(std::abs(a + b - 1.0), 1e-3);  // not probabilities
}

TEST_F(ServeApi, TeiBatchShapesGiveListOfLists) {
  HttpClient c(server_->port());
  const std::vector<std::string> texts = {kText, "质量很差，不推荐", "ok"};
  json nested = json::array(), flat = json::array();
  for (const auto& t : texts) {
    nested.push_back(json::array({t}));
    flat.push_back(t);
  }
  const HttpResult r1 = c.post("/predict", json{{"inputs", nested}}.dump());
  const HttpResult r2 = c.post("/predict", json{{"inputs", flat}}.dump());
  ASSERT_EQ(r1.status, 200) << r1.body;
  ASSERT_EQ(r2.status, 200) << r2.body;
  const json a = r1.json(), b = r2.json();
  ASSERT_EQ(a.size(), texts.size());
  ASSERT_EQ(b.size(), texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const json single = c.post("/predict", json{{"inputs", texts[i]}}.dump()).json();
    EXPECT_EQ(a[i][0]["label"], single[0]["label"]) << i;
    EXPECT_NEAR(a[i][0]["score"].get<double>(), single[0]["score"].get<double>(), 1e-5) << i;
    EXPECT_NEAR(b[i][0]["score"].get<double>(), single[0]["score"].get<double>(), 1e-5) << i;
  }
  EXPECT_EQ(r1.headers.at("x-compute-tokens"), r2.headers.at("x-compute-tokens"));
}

TEST_F(ServeApi, TeiSentencePair) {
  HttpClient c(server_->port());
  const HttpResult r = c.post("/predict", R"({"inputs": [["质量好", "价格贵"]]})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json().size(), 1u);
  EXPECT_EQ(r.headers.at("x-compute-tokens"), "9");  // [CLS] 3 [SEP] 3 [SEP]
}

TEST_F(ServeApi, LongTextIsTruncatedByDefault) {
  HttpClient c(server_->port());
  const std::string long_text = repeat("好", 700);
  HttpResult r = c.post("/predict", json{{"inputs", long_text}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers.at("x-compute-tokens"), "512");
  r = c.get("/predict?text=" + url_encode(long_text));
  ASSERT_EQ(r.status, 200) << r.body;
  r = c.post("/predict", json{{"inputs", long_text}, {"truncate", false}}.dump());
  expect_error(r, 422, "validation", "702 tokens long");
  r = c.post("/predict", json{{"inputs", "short"}, {"truncate", false}}.dump());
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(ServeApi, KServeV2) {
  HttpClient c(server_->port());
  EXPECT_EQ(c.get("/v2/health/live").status, 200);
  EXPECT_EQ(c.get("/v2/health/ready").status, 200);
  const json server_meta = c.get("/v2").json();
  EXPECT_EQ(server_meta["name"], "senti");
  const json meta = c.get("/v2/models/tiny").json();
  EXPECT_EQ(meta["name"], "tiny");
  EXPECT_EQ(meta["inputs"][0]["datatype"], "BYTES");
  EXPECT_EQ(c.get("/v2/models/tiny/ready").status, 200);
  const json request = {{"id", "req-1"},
                        {"inputs", {{{"name", "text"}, {"shape", {2}}, {"datatype", "BYTES"}, {"data", {kText, "差"}}}}}};
  const HttpResult r = c.post("/v2/models/tiny/infer", request.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = r.json();
  EXPECT_EQ(j["id"], "req-1");
  EXPECT_EQ(j["model_name"], "tiny");
  ASSERT_EQ(j["outputs"].size(), 3u);
  EXPECT_EQ(j["outputs"][0]["name"], "label");
  EXPECT_EQ(j["outputs"][0]["shape"], json({2}));
  EXPECT_EQ(j["outputs"][2]["shape"], json({2, 2}));
  const json single = c.post("/predict", json{{"inputs", kText}}.dump()).json();
  EXPECT_EQ(j["outputs"][0]["data"][0], single[0]["label"]);
  EXPECT_NEAR(j["outputs"][1]["data"][0].get<double>(), single[0]["score"].get<double>(), 1e-5);
  EXPECT_EQ(c.post("/v2/models/tiny/versions/1/infer", request.dump()).status, 200);

  expect_error(c.post("/v2/models/other/infer", request.dump()), 404, "not_found", "other");
  expect_error(c.get("/v2/models/other"), 404, "not_found");
  json bad_shape = request;
  bad_shape["inputs"][0]["shape"] = {3};
  expect_error(c.post("/v2/models/tiny/infer", bad_shape.dump()), 422, "validation", "shape");
  json bad_type = request;
  bad_type["inputs"][0]["datatype"] = "FP32";
  expect_error(c.post("/v2/models/tiny/infer", bad_type.dump()), 400, "validation", "BYTES");
  json bad_data = request;
  bad_data["inputs"][0]["data"] = {1, 2};
  expect_error(c.post("/v2/models/tiny/infer", bad_data.dump()), 400, "validation");
  expect_error(c.get("/v2/models/tiny/infer"), 405, "method_not_allowed");
}

TEST_F(ServeApi, HealthInfoMetricsOpenApi) {
  HttpClient c(server_->port());
  HttpResult r = c.get("/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["status"], "ok");
  const json info = c.get("/info").json();
  EXPECT_EQ(info["model"], "tiny");
  EXPECT_EQ(info["max_input_length"], 512);
  EXPECT_EQ(info["labels"].size(), 2u);
  EXPECT_EQ(info["labels"][1]["label"], "positive");
  EXPECT_FALSE(info["backend"].get<std::string>().empty());
  // The precision the engine resolved "auto" to, and the backend name says the same.
  const std::string precision = info["precision"].get<std::string>();
  EXPECT_TRUE(precision == "fp32" || precision == "bf16" || precision == "int8") << precision;
  EXPECT_NE(info["backend"].get<std::string>().find(precision), std::string::npos) << info;
  EXPECT_EQ(info["version"], SENTI_VERSION_STRING);

  ASSERT_EQ(c.get("/predict?text=x").status, 200);
  r = c.get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at("content-type").rfind("text/plain", 0), 0u);
  for (const char* name : {"senti_requests_total{endpoint=\"/predict\",code=\"200\",outcome=\"success\"}",
                           "senti_queue_duration_seconds_bucket", "senti_tokenization_duration_seconds_count",
                           "senti_inference_duration_seconds_sum", "senti_batch_size_bucket", "senti_batch_tokens_bucket",
                           "senti_queue_depth ", "# TYPE senti_request_duration_seconds histogram"})
    EXPECT_NE(r.body.find(name), std::string::npos) << name;

  const json doc = c.get("/openapi.json").json();
  EXPECT_EQ(doc["openapi"], "3.0.3");
  for (const char* path : {"/predict", "/v2/models/{model}/infer", "/health", "/info", "/metrics", "/v2/health/ready"})
    EXPECT_TRUE(doc["paths"].contains(path)) << path;
  EXPECT_TRUE(doc["paths"]["/predict"].contains("post"));
  EXPECT_TRUE(doc["components"]["schemas"].contains("Error"));
  // No null anywhere (OpenAPI has no place for one; an empty schema is {}), and every $ref resolves.
  std::vector<std::string> problems;
  std::function<void(const json&, const std::string&)> walk = [&](const json& j, const std::string& where) {
    if (j.is_null()) problems.push_back("null at " + where);
    if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (it.key() == "$ref") {
          const std::string ref = it.value().get<std::string>();
          const std::string prefix = "#/components/schemas/";
          if (ref.rfind(prefix, 0) != 0 || !doc["components"]["schemas"].contains(ref.substr(prefix.size())))
            problems.push_back("dangling $ref " + ref);
        }
        walk(it.value(), where + "/" + it.key());
      }
    } else if (j.is_array()) {
      for (std::size_t i = 0; i < j.size(); ++i) walk(j[i], where + "/" + std::to_string(i));
    }
  };
  walk(doc, "");
  EXPECT_TRUE(problems.empty()) << problems.front();
}

TEST_F(ServeApi, KeepAliveReusesTheConnection) {
  HttpClient c(server_->port());
  for (int i = 0; i < 5; ++i) ASSERT_EQ(c.get("/predict?text=hello").status, 200);
  EXPECT_EQ(c.connects(), 1);
}

TEST_F(ServeApi, BadInputErrors) {
  HttpClient c(server_->port());
  expect_error(c.get("/predict"), 400, "validation", "text");
  expect_error(c.get("/predict?text="), 422, "validation", "empty");
  expect_error(c.get("/predict?text=%FF%FE"), 400, "validation", "UTF-8");
  expect_error(c.get("/predict?text=%E5%A5"), 400, "validation", "UTF-8");
  expect_error(c.get("/predict?text=%zz"), 400, "validation", "escape");
  expect_error(c.post("/predict", "{\"inputs\": "), 400, "validation", "JSON");
  expect_error(c.post("/predict", ""), 400, "validation", "JSON");
  expect_error(c.post("/predict", "[\"x\"]"), 400, "validation", "object");
  expect_error(c.post("/predict", "{\"text\": \"x\"}"), 400, "validation", "inputs");
  expect_error(c.post("/predict", "{\"inputs\": 5}"), 400, "validation", "inputs");
  expect_error(c.post("/predict", "{\"inputs\": [5]}"), 400, "validation");
  expect_error(c.post("/predict", "{\"inputs\": [[\"a\", \"b\", \"c\"]]}"), 400, "validation");
  expect_error(c.post("/predict", "{\"inputs\": \"x\", \"truncate\": \"no\"}"), 400, "validation", "truncate");
  expect_error(c.post("/predict", "{\"inputs\": \"x\", \"raw_scores\": 1}"), 400, "validation", "raw_scores");
  expect_error(c.post("/predict", "{\"inputs\": \"\"}"), 422, "validation", "empty");
  expect_error(c.post("/predict", "{\"inputs\": []}"), 422, "validation", "empty");
  expect_error(c.post("/predict", "{\"inputs\": [\"a\", \"\"]}"), 422, "validation", "input 1");
  // Invalid UTF-8 inside the JSON string.
  expect_error(c.post("/predict", "{\"inputs\": \"\xff\xfe\"}"), 400, "validation");
  // --max-client-batch-size 4
  expect_error(c.post("/predict", R"({"inputs": ["a", "b", "c", "d", "e"]})"), 422, "validation", "max-client-batch-size");
  EXPECT_EQ(c.post("/predict", R"({"inputs": ["a", "b", "c", "d"]})").status, 200);
  // The connection survives all of that.
  EXPECT_EQ(c.connects(), 1);
}

TEST_F(ServeApi, RoutingErrors) {
  HttpClient c(server_->port());
  expect_error(c.get("/nope"), 404, "not_found", "/nope");
  expect_error(c.request("PUT", "/", "{}"), 405, "method_not_allowed", "GET or POST");
  expect_error(c.request("DELETE", "/predict", ""), 405, "method_not_allowed", "DELETE");
  expect_error(c.post("/health", "{}"), 405, "method_not_allowed");
  expect_error(c.post("/metrics", "{}"), 405, "method_not_allowed");
}

TEST_F(ServeApi, PayloadOverLimitIs413) {
  HttpClient c(server_->port());
  const std::string big = json{{"inputs", repeat("a", 100000)}}.dump();  // --payload-limit 65536
  expect_error(c.post("/predict", big), 413, "validation", "payload-limit");
  // A fresh connection works afterwards.
  EXPECT_EQ(c.get("/predict?text=fine").status, 200);
}

TEST_F(ServeApi, MalformedHttpIs400) {
  HttpClient c(server_->port());
  HttpResult r = c.raw("THIS IS NOT HTTP\r\n\r\n");
  expect_error(r, 400, "validation", "malformed");
  r = c.raw("POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n");
  EXPECT_EQ(r.status, 400) << r.error << r.body;
}

TEST(ServeTimeouts, SlowClientDoesNotBlockOthers) {
  ServerProcess server({"--read-timeout", "2"});
  ASSERT_NE(server.port(), 0);
  // A client that sends half a request and stalls.
  HttpClient stalled(server.port());
  const auto stalled_start = std::chrono::steady_clock::now();
  auto pending = std::async(std::launch::async, [&] {
    return stalled.raw("POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"inputs\":");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  HttpClient c(server.port());
  for (int i = 0; i < 5; ++i) ASSERT_EQ(c.get("/predict?text=hi").status, 200);
  // The stalled one is cut off by --read-timeout, without an answer.
  const HttpResult r = pending.get();
  EXPECT_EQ(r.status, -1) << r.body;
  EXPECT_GE(std::chrono::steady_clock::now() - stalled_start, std::chrono::milliseconds(1500));
  EXPECT_EQ(c.get("/predict?text=still%20fine").status, 200);
}

TEST(ServeTimeouts, ClientThatLeavesMidRequestHarmsNobody) {
  ServerProcess server({"--max-batch-delay-us", "400000"});
  ASSERT_NE(server.port(), 0);
  // Gives up after 50 ms, while its text waits in the queue, and closes the connection.
  EXPECT_EQ(HttpClient(server.port(), std::chrono::milliseconds(50)).get("/predict?text=impatient").status, -1);
  HttpClient c(server.port());
  EXPECT_EQ(c.get("/predict?text=patient").status, 200);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (c.get("/metrics").body.find("senti_requests_in_flight 0") == std::string::npos) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the abandoned request never finished";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.log();
}

TEST(ServeOverload, TooManyConcurrentRequestsIs429) {
  // One slot; every batch waits up to 3 s for company, so the first request holds the slot.
  ServerProcess server({"--max-concurrent-requests", "1", "--max-batch-delay-us", "3000000"});
  ASSERT_NE(server.port(), 0);
  auto first = std::async(std::launch::async, [&] { return HttpClient(server.port()).get("/predict?text=first"); });
  HttpClient c(server.port());
  // Wait until the first one is in flight.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (c.get("/metrics").body.find("senti_requests_in_flight 1") == std::string::npos) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  expect_error(c.get("/predict?text=second"), 429, "overloaded", "max-concurrent-requests");
  EXPECT_EQ(c.get("/health").status, 200);  // not a prediction: not limited
  EXPECT_EQ(first.get().status, 200);
  EXPECT_EQ(c.get("/predict?text=third").status, 200);
  EXPECT_NE(c.get("/metrics").body.find("code=\"429\",outcome=\"overloaded\"} 1"), std::string::npos);
}

// A model with display labels (senti_label_display in config.json): "sentiment" is the display label.
TEST(ServeSeed, SentimentIsTheDisplayLabel) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("senti-serve-display-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::copy(std::string(SENTI_TEST_DATA_DIR) + "/models/tiny", dir, std::filesystem::copy_options::recursive);
  std::filesystem::remove(dir / "pytorch_model.bin");
  json config;
  {
    std::ifstream in(dir / "config.json");
    in >> config;
  }
  config["senti_label_display"] = {{"0", "负面"}, {"1", "正面"}};
  std::ofstream(dir / "config.json") << config.dump(2);
  {
    ServerProcess server({"--model", dir.string()});
    ASSERT_NE(server.port(), 0);
    HttpClient c(server.port());
    for (const std::string& text : std::vector<std::string>{kText, "差评", "ok"}) {
      const json j = c.get("/predict?text=" + url_encode(text)).json();
      ASSERT_TRUE(j.contains("label")) << j;
      EXPECT_EQ(j["sentiment"], j["label"] == "positive" ? "正面" : "负面") << j;
    }
    const json info = c.get("/info").json();
    EXPECT_EQ(info["labels"][1]["display"], "正面");
  }
  std::filesystem::remove_all(dir);
}

std::pair<int, std::string> run_command(const std::string& cmd) {
  FILE* pipe = popen((cmd + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  std::string out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// GET / is the web playground: one self-contained page (no CDN) that calls this server's API;
// the browser test (tests/deploy/test_playground.py) drives it in headless Chromium.
TEST_F(ServeApi, PlaygroundPage) {
  HttpClient c(server_->port());
  const HttpResult r = c.get("/");
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_EQ(r.headers.at("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(r.headers.at("content-security-policy").find("connect-src 'self'"), std::string::npos);
  EXPECT_EQ(r.body.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(r.body.find("</html>"), std::string::npos);  // the whole file, not a prefix
  EXPECT_NE(r.body.find("fetch(\"predict\""), std::string::npos);
  EXPECT_NE(r.body.find("中文"), std::string::npos);  // both UI languages, UTF-8 intact
  // Nothing is loaded from elsewhere.
  for (const char* remote : {"http://", "https://", "//cdn", "<link"})
    EXPECT_EQ(r.body.find(remote), std::string::npos) << remote;
  EXPECT_NE(c.get("/metrics").body.find("endpoint=\"/\""), std::string::npos);
  EXPECT_TRUE(c.get("/openapi.json").json()["paths"].contains("/"));
}

TEST(ServeUi, NoUiTurnsThePlaygroundOff) {
  ServerProcess server({"--no-ui"});
  ASSERT_NE(server.port(), 0);
  HttpClient c(server.port());
  expect_error(c.get("/"), 404, "not_found");
  EXPECT_EQ(c.get("/predict?text=ok").status, 200);
  EXPECT_EQ(c.post("/", R"({"inputs": "ok"})").status, 200);  // the TEI route stays
}

TEST(ServeCli, MissingModelIsAClearError) {
  const auto [status, out] = run_command(std::string(SENTI_EXE) + " serve --port 0 --model /nonexistent/senti-model");
  EXPECT_EQ(status, 3) << out;
  EXPECT_NE(out.find("/nonexistent/senti-model"), std::string::npos) << out;
}

TEST(ServeCli, BadOptionsAreRejected) {
  EXPECT_NE(run_command(std::string(SENTI_EXE) + " serve --precision fp64").first, 0);
  EXPECT_NE(run_command(std::string(SENTI_EXE) + " serve --log-format xml").first, 0);
  EXPECT_NE(run_command(std::string(SENTI_EXE) + " serve --port 70000").first, 0);
  EXPECT_NE(run_command(std::string(SENTI_EXE) + " serve --max-batch-requests 0").first, 0);
  const auto [status, help] = run_command(std::string(SENTI_EXE) + " serve --help");
  EXPECT_EQ(status, 0);
  for (const char* option : {"--model", "--host", "--port", "--precision", "--threads", "--max-batch-tokens",
                             "--max-batch-requests", "--max-batch-delay-us", "--max-concurrent-requests",
                             "--payload-limit", "--max-client-batch-size", "--log-format"})
    EXPECT_NE(help.find(option), std::string::npos) << option;
}

TEST(ServeCli, PortInUseIsAClearError) {
  ServerProcess first;
  ASSERT_NE(first.port(), 0);
  const std::string cmd = std::string(SENTI_EXE) + " serve --model " + SENTI_TEST_DATA_DIR + "/models/tiny --port " +
                          std::to_string(first.port()) + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int status = pclose(pipe);
  EXPECT_NE(WEXITSTATUS(status), 0);
  EXPECT_NE(out.find("cannot listen"), std::string::npos) << out;
  EXPECT_NE(out.find("in use"), std::string::npos) << out;
}

TEST(ServeCli, JsonLogsAreOneObjectPerLine) {
  ServerProcess server({"--summary-interval", "1"});
  ASSERT_NE(server.port(), 0);
  HttpClient c(server.port());
  c.get("/nope");
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));  // one summary
  ASSERT_EQ(server.stop(SIGINT), 0) << server.log();
  std::istringstream lines(server.log());
  std::string line;
  int count = 0;
  bool saw_error = false, saw_start = false, saw_summary = false;
  while (std::getline(lines, line)) {
    const json j = json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    EXPECT_TRUE(j.contains("time") && j.contains("level") && j.contains("message")) << line;
    if (j["message"] == "senti serve listening") {
      saw_start = true;
      EXPECT_EQ(j["model"], "tiny");
      EXPECT_TRUE(j.contains("precision") && j.contains("backend") && j.contains("address")) << line;
    }
    if (j["message"] == "request failed" && j.value("status", 0) == 404) saw_error = true;
    if (j["message"] == "summary" && j.value("requests", 0) >= 1) saw_summary = true;
    ++count;
  }
  EXPECT_TRUE(saw_start);
  EXPECT_TRUE(saw_error) << server.log();
  EXPECT_TRUE(saw_summary) << server.log();
  EXPECT_GE(count, 3);
}

}  // namespace
}  // namespace senti::test
