// The socket-free request path (in_memory_http.h) that the HTTP fuzzer drives: raw bytes through the
// server's parser, router and model give the answers the live server gives.
#include "serving/in_memory_http.h"
#include "serving/logging.h"

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace senti::serving {
namespace {

using nlohmann::json;

ServeOptions tiny_options() {
  ServeOptions options;
  options.model_dir = SENTI_TEST_DATA_DIR "/models/tiny";
  options.threads = 1;
  options.payload_limit = 4096;
  options.max_client_batch_size = 4;
  options.version = "test";
  return options;
}

InMemoryServer& server() {
  static InMemoryServer* s = [] {
    init_logging("text", spdlog::level::off);
    return new InMemoryServer(tiny_options());
  }();
  return *s;
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

std::string body_of(const std::string& wire) { return wire.substr(wire.find("\r\n\r\n") + 4); }

TEST(InMemoryHttp, GetPredictAnswersLikeTheService) {
  const std::string wire = server().serve_bytes(
      "GET /predict?text=%E5%A5%BD HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(wire.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << wire;
  EXPECT_NE(wire.find("Server: senti/test\r\n"), std::string::npos) << wire;
  EXPECT_NE(wire.find("x-compute-tokens: 3\r\n"), std::string::npos) << wire;
  EXPECT_NE(wire.find("Connection: close\r\n"), std::string::npos) << wire;
  const json got = json::parse(body_of(wire));
  EXPECT_EQ(got["text"], "好");

  const HttpResponse direct = server().handle({"GET", "/predict?text=%E5%A5%BD", "", "", "", std::nullopt});
  ASSERT_EQ(direct.status, 200) << direct.body;
  const json expected = json::parse(direct.body);
  EXPECT_EQ(got["label"], expected["label"]);
  EXPECT_FLOAT_EQ(got["score"].get<float>(), expected["score"].get<float>());
}

TEST(InMemoryHttp, KeepAliveAnswersEveryPipelinedRequestInOrder) {
  const std::string body = R"({"inputs": "好"})";
  const std::string wire = server().serve_bytes(
      "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body + "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(count(wire, "HTTP/1.1 "), 3u) << wire;
  const auto ok = wire.find("HTTP/1.1 200 OK");
  const auto second = wire.find("HTTP/1.1 200 OK", ok + 1);
  const auto not_found = wire.find("HTTP/1.1 404 Not Found");
  EXPECT_LT(ok, second);
  EXPECT_LT(second, not_found);
  EXPECT_NE(not_found, std::string::npos) << wire;
}

TEST(InMemoryHttp, MalformedRequestGets400AndCloses) {
  const std::string wire = server().serve_bytes("GET /health HTTP/1.1\r\nHost x\r\n\r\nGET /health HTTP/1.1\r\n\r\n");
  ASSERT_EQ(wire.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << wire;
  EXPECT_EQ(count(wire, "HTTP/1.1 "), 1u) << wire;
  EXPECT_NE(wire.find("Connection: close\r\n"), std::string::npos) << wire;
  EXPECT_EQ(json::parse(body_of(wire))["error_type"], "validation");
}

TEST(InMemoryHttp, BodyOverThePayloadLimitGets413) {
  const std::string wire = server().serve_bytes(
      "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'a'));
  ASSERT_EQ(wire.rfind("HTTP/1.1 413 Payload Too Large\r\n", 0), 0u) << wire;
  EXPECT_NE(body_of(wire).find("--payload-limit"), std::string::npos) << wire;
}

TEST(InMemoryHttp, HeadGetsTheLengthWithoutTheBody) {
  const std::string get = server().serve_bytes("GET /info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string head = server().serve_bytes("HEAD /info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head;
  EXPECT_EQ(body_of(head), "");
  EXPECT_NE(head.find("Content-Length: " + std::to_string(body_of(get).size()) + "\r\n"), std::string::npos) << head;
}

TEST(InMemoryHttp, ExpectContinueGets100First) {
  const std::string body = R"({"inputs": "好"})";
  const std::string wire = server().serve_bytes(
      "POST /predict HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n" + body);
  ASSERT_EQ(wire.rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", 0), 0u) << wire;
}

TEST(InMemoryHttp, RequestCutShortGetsNoAnswer) {
  EXPECT_EQ(server().serve_bytes("GET /health HTTP/1.1\r\nHost:"), "");
  EXPECT_EQ(server().serve_bytes("POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{\"in"), "");
}

// Issue 8 (also a seed of json_api_fuzzer): a non-string tensor name was a 500 "type must be string".
TEST(InMemoryHttp, KServeTensorNamesOfAnyTypeAreA400) {
  for (const char* body : {R"({"inputs":[{"name":1},{"name":2}]})", R"({"inputs":[{"name":null},{"name":[]}]})",
                           R"({"inputs":[{"name":1}]})"}) {
    const HttpResponse r = server().handle({"POST", "/v2/models/tiny/infer", body, "application/json", "", std::nullopt});
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
    EXPECT_EQ(json::parse(r.body)["error_type"], "validation") << r.body;
  }
}

// A lone request that finds the engine idle runs inline on the connection's thread: its answer is
// rendered there and then, not posted back to that thread (a post wakes an idle network thread).
TEST(InMemoryHttp, LoneRequestIsAnsweredWithoutAPost) {
  struct Seen {
    int posts = 0, answers = 0;
    HttpResponse response;
  } seen;
  server().service().handle(
      {"GET", "/predict?text=%E5%A5%BD", "", "", "", std::nullopt},
      [&seen](HttpResponse r) {
        ++seen.answers;
        seen.response = std::move(r);
      },
      [&seen](std::function<void()> fn) {
        ++seen.posts;
        fn();
      });
  EXPECT_EQ(seen.answers, 1);
  EXPECT_EQ(seen.posts, 0);
  ASSERT_EQ(seen.response.status, 200) << seen.response.body;
  EXPECT_EQ(json::parse(seen.response.body)["text"], "好");
}

}  // namespace
}  // namespace senti::serving
