// The gRPC endpoint end to end: the real `senti serve --grpc-port 0` driven by a grpc++ stub generated
// from src/serving/grpc/kserve_v2.proto, its answers compared with the HTTP KServe v2 API's.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "serving/grpc/bytes_elements.h"
#include "serving/grpc/kserve_v2.grpc.pb.h"
#include "serving/http_client.h"
#include "serving/server_process.h"

namespace senti::test {
namespace {

using nlohmann::json;
using Stub = inference::GRPCInferenceService::Stub;

constexpr const char* kModel = "tiny";
constexpr std::size_t kMaxBatch = 4;
constexpr std::size_t kPayloadLimit = 4000;

std::unique_ptr<Stub> connect(std::uint16_t port) {
  return inference::GRPCInferenceService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
}

void set_deadline(grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
}

inference::ModelInferRequest bytes_request(const std::vector<std::string>& texts) {
  inference::ModelInferRequest request;
  request.set_model_name(kModel);
  auto* tensor = request.add_inputs();
  tensor->set_name("text");
  tensor->set_datatype("BYTES");
  tensor->add_shape(static_cast<std::int64_t>(texts.size()));
  for (const auto& t : texts) tensor->mutable_contents()->add_bytes_contents(t);
  return request;
}

inference::ModelInferRequest raw_request(const std::vector<std::string>& texts, std::vector<std::int64_t> shape) {
  inference::ModelInferRequest request;
  request.set_model_name(kModel);
  auto* tensor = request.add_inputs();
  tensor->set_name("text");
  tensor->set_datatype("BYTES");
  for (const auto d : shape) tensor->add_shape(d);
  std::string raw;
  for (const auto& t : texts) serving::append_bytes_element(raw, t);
  request.add_raw_input_contents(raw);
  return request;
}

std::vector<float> floats_of(const std::string& raw) {
  std::vector<float> out(raw.size() / sizeof(float));
  std::memcpy(out.data(), raw.data(), out.size() * sizeof(float));
  return out;
}

class GrpcTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess({"--grpc-port", "0", "--max-client-batch-size", std::to_string(kMaxBatch),
                                 "--payload-limit", std::to_string(kPayloadLimit)});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_->grpc_port(), 0) << server_->log();
    stub_ = connect(server_->grpc_port());
  }

  grpc::Status infer(const inference::ModelInferRequest& request, inference::ModelInferResponse& response) {
    grpc::ClientContext context;
    set_deadline(context);
    return stub_->ModelInfer(&context, request, &response);
  }
  // The HTTP KServe v2 answer for the same texts: {"label": output, "score": ..., "scores": ...}.
  json http_infer(const std::vector<std::string>& texts, int expected_status = 200) {
    HttpClient http(server_->port());
    const json body = {{"inputs", {{{"name", "text"}, {"datatype", "BYTES"}, {"shape", {texts.size()}}, {"data", texts}}}}};
    const HttpResult r = http.post(std::string("/v2/models/") + kModel + "/infer", body.dump());
    EXPECT_EQ(r.status, expected_status) << r.body;
    if (r.status != 200) return r.json();
    const json answer = r.json();
    json outputs = json::object();
    for (const json& o : answer.at("outputs")) outputs[o.at("name").get<std::string>()] = o;
    return outputs;
  }
  void expect_same_as_http(const inference::ModelInferResponse& response, const std::vector<std::string>& texts) {
    const json http = http_infer(texts);
    EXPECT_EQ(response.model_name(), kModel);
    EXPECT_EQ(response.model_version(), "1");
    ASSERT_EQ(response.outputs_size(), 3);
    ASSERT_EQ(response.raw_output_contents_size(), 3);
    for (int i = 0; i < 3; ++i) {
      const auto& out = response.outputs(i);
      const json& expected = http.at(out.name());
      EXPECT_EQ(out.datatype(), expected["datatype"]);
      EXPECT_EQ(std::vector<std::int64_t>(out.shape().begin(), out.shape().end()),
                expected["shape"].get<std::vector<std::int64_t>>());
      if (out.datatype() == "BYTES") {
        std::string error;
        const auto labels = serving::parse_bytes_elements(response.raw_output_contents(i), 100, &error);
        ASSERT_TRUE(labels) << error;
        EXPECT_EQ(labels->elements, expected["data"].get<std::vector<std::string>>());
      } else {
        // Within rounding, not bit for bit: fp32 runs oneDNN, whose sums may round differently when the batcher
        // packs the two requests' texts with other rows (batch == single holds within 1e-4, precision_test).
        const std::vector<float> got = floats_of(response.raw_output_contents(i));
        const auto want = expected["data"].get<std::vector<float>>();
        ASSERT_EQ(got.size(), want.size()) << out.name();
        for (std::size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k], want[k], 1e-5) << out.name() << "[" << k << "]";
      }
    }
  }
  // The status of a request that must fail.
  grpc::Status failure(const inference::ModelInferRequest& request) {
    inference::ModelInferResponse response;
    return infer(request, response);
  }

  static ServerProcess* server_;
  std::unique_ptr<Stub> stub_;
};

ServerProcess* GrpcTest::server_ = nullptr;

TEST_F(GrpcTest, HealthAndMetadata) {
  {
    grpc::ClientContext c;
    set_deadline(c);
    inference::ServerLiveResponse r;
    ASSERT_TRUE(stub_->ServerLive(&c, {}, &r).ok());
    EXPECT_TRUE(r.live());
  }
  {
    grpc::ClientContext c;
    set_deadline(c);
    inference::ServerReadyResponse r;
    ASSERT_TRUE(stub_->ServerReady(&c, {}, &r).ok());
    EXPECT_TRUE(r.ready());
  }
  for (const std::string version : {"", "1"}) {
    grpc::ClientContext c;
    set_deadline(c);
    inference::ModelReadyRequest q;
    q.set_name(kModel);
    q.set_version(version);
    inference::ModelReadyResponse r;
    ASSERT_TRUE(stub_->ModelReady(&c, q, &r).ok());
    EXPECT_TRUE(r.ready());
  }
  {
    grpc::ClientContext c;
    set_deadline(c);
    inference::ModelReadyRequest q;
    q.set_name("no/such model");
    inference::ModelReadyResponse r;
    EXPECT_EQ(stub_->ModelReady(&c, q, &r).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext c;
    set_deadline(c);
    inference::ServerMetadataResponse r;
    ASSERT_TRUE(stub_->ServerMetadata(&c, {}, &r).ok());
    EXPECT_EQ(r.name(), "senti");
    EXPECT_FALSE(r.version().empty());
  }
  grpc::ClientContext c;
  set_deadline(c);
  inference::ModelMetadataRequest q;
  q.set_name(kModel);
  inference::ModelMetadataResponse r;
  ASSERT_TRUE(stub_->ModelMetadata(&c, q, &r).ok());
  HttpClient http(server_->port());
  const json expected = http.get(std::string("/v2/models/") + kModel).json();
  EXPECT_EQ(r.name(), expected["name"]);
  EXPECT_EQ(r.platform(), expected["platform"]);
  ASSERT_EQ(r.inputs_size(), 1);
  EXPECT_EQ(r.inputs(0).name(), "text");
  EXPECT_EQ(r.inputs(0).datatype(), "BYTES");
  ASSERT_EQ(r.outputs_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(r.outputs(i).name(), expected["outputs"][i]["name"]);
    EXPECT_EQ(std::vector<std::int64_t>(r.outputs(i).shape().begin(), r.outputs(i).shape().end()),
              expected["outputs"][i]["shape"].get<std::vector<std::int64_t>>());
  }
}

TEST_F(GrpcTest, InferBytesContentsEqualsHttp) {
  const std::vector<std::string> texts = {"这件衣服的质量真的太棒了", "物流太慢了，等了一个星期", "还行吧"};
  inference::ModelInferRequest request = bytes_request(texts);
  request.set_id("abc");
  inference::ModelInferResponse response;
  const grpc::Status status = infer(request, response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.id(), "abc");
  expect_same_as_http(response, texts);
}

TEST_F(GrpcTest, InferRawContentsEqualsHttp) {
  const std::vector<std::string> texts = {"房间干净整洁，早餐也很丰富", "隔音太差"};
  for (const auto& shape : {std::vector<std::int64_t>{2}, std::vector<std::int64_t>{2, 1}}) {
    inference::ModelInferResponse response;
    const grpc::Status status = infer(raw_request(texts, shape), response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    expect_same_as_http(response, texts);
  }
}

TEST_F(GrpcTest, RequestedOutputsOnly) {
  inference::ModelInferRequest request = raw_request({"好"}, {1});
  request.add_outputs()->set_name("scores");
  request.add_outputs()->set_name("label");
  inference::ModelInferResponse response;
  ASSERT_TRUE(infer(request, response).ok());
  ASSERT_EQ(response.outputs_size(), 2);
  EXPECT_EQ(response.outputs(0).name(), "label");  // the model's order
  EXPECT_EQ(response.outputs(1).name(), "scores");
  EXPECT_EQ(response.raw_output_contents_size(), 2);
}

// ModelInferRequest.parameters reach the service as the HTTP request's "parameters": the analysis outputs
// come back as raw BYTES (JSON arrays) and INT64 tensors, equal to the HTTP API's analysis.
TEST_F(GrpcTest, AnalysisParametersAddOutputs) {
  const std::vector<std::string> texts = {"房间干净整洁。早餐也很丰富！", "隔音太差 but 😀 ok"};
  inference::ModelInferRequest request = bytes_request(texts);
  (*request.mutable_parameters())["explain"].set_bool_param(true);
  (*request.mutable_parameters())["granularity"].set_string_param("sentence");
  (*request.mutable_parameters())["long_text"].set_string_param("chunk");
  (*request.mutable_parameters())["binary_data_output"].set_bool_param(true);  // HTTP's own: left out
  inference::ModelInferResponse response;
  const grpc::Status status = infer(request, response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.outputs_size(), 6);
  ASSERT_EQ(response.raw_output_contents_size(), 6);
  EXPECT_EQ(response.outputs(3).name(), "explanation");
  EXPECT_EQ(response.outputs(3).datatype(), "BYTES");
  EXPECT_EQ(response.outputs(4).name(), "sentences");
  EXPECT_EQ(response.outputs(5).name(), "chunks");
  EXPECT_EQ(response.outputs(5).datatype(), "INT64");
  std::string error;
  const auto explanations = serving::parse_bytes_elements(response.raw_output_contents(3), 100, &error);
  ASSERT_TRUE(explanations) << error;
  const auto sentences = serving::parse_bytes_elements(response.raw_output_contents(4), 100, &error);
  ASSERT_TRUE(sentences) << error;
  ASSERT_EQ(explanations->elements.size(), 2u);
  ASSERT_EQ(response.raw_output_contents(5).size(), 2 * sizeof(std::int64_t));
  std::int64_t chunks[2];
  std::memcpy(chunks, response.raw_output_contents(5).data(), sizeof chunks);
  EXPECT_EQ(chunks[0], 1);
  EXPECT_EQ(chunks[1], 1);
  HttpClient http(server_->port());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const HttpResult r = http.post("/predict", json{{"inputs", texts[i]},
                                                    {"parameters", {{"explain", true}, {"granularity", "sentence"}}}}
                                                   .dump());
    ASSERT_EQ(r.status, 200) << r.body;
    const json want = r.json();
    const json got = json::parse(explanations->elements[i]);
    ASSERT_EQ(got.size(), want["explanation"].size());
    for (std::size_t k = 0; k < got.size(); ++k) {
      EXPECT_EQ(got[k]["text"], want["explanation"][k]["text"]);
      EXPECT_EQ(got[k]["start"], want["explanation"][k]["start"]);
      EXPECT_NEAR(got[k]["weight"].get<double>(), want["explanation"][k]["weight"].get<double>(), 1e-4);
    }
    const json got_sentences = json::parse(sentences->elements[i]);
    ASSERT_EQ(got_sentences.size(), want["sentences"].size());
    for (std::size_t k = 0; k < got_sentences.size(); ++k) EXPECT_EQ(got_sentences[k]["text"], want["sentences"][k]["text"]);
  }
  EXPECT_EQ(json::parse(sentences->elements[0]).size(), 2u);

  // Requested outputs: the service's order; an analysis output needs its parameter.
  inference::ModelInferRequest some = bytes_request({"好"});
  (*some.mutable_parameters())["explain"].set_bool_param(true);
  some.add_outputs()->set_name("explanation");
  some.add_outputs()->set_name("label");
  ASSERT_TRUE(infer(some, response = {}).ok());
  ASSERT_EQ(response.outputs_size(), 2);
  EXPECT_EQ(response.outputs(0).name(), "label");
  EXPECT_EQ(response.outputs(1).name(), "explanation");
  some.mutable_parameters()->clear();
  grpc::Status refused = failure(some);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(refused.error_message().find("\"explain\": true"), std::string::npos) << refused.error_message();
  inference::ModelInferRequest bad = bytes_request({"好"});
  (*bad.mutable_parameters())["granularity"].set_string_param("paragraph");
  refused = failure(bad);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(refused.error_message().find("text or sentence"), std::string::npos) << refused.error_message();
}

TEST_F(GrpcTest, InvalidTextsGetTheHttpErrorAsInvalidArgument) {
  for (const auto& texts : {std::vector<std::string>{""}, std::vector<std::string>(kMaxBatch + 1, "好")}) {
    const json http = http_infer(texts, 422);
    for (const auto& request : {bytes_request(texts), raw_request(texts, {static_cast<std::int64_t>(texts.size())})}) {
      const grpc::Status status = failure(request);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
      EXPECT_EQ(status.error_message(), http["error"].get<std::string>());
    }
  }
}

TEST_F(GrpcTest, BadRequestsGetTheirStatusCodes) {
  auto expect = [&](const inference::ModelInferRequest& request, grpc::StatusCode code, const std::string& fragment) {
    const grpc::Status status = failure(request);
    EXPECT_EQ(status.error_code(), code) << status.error_message();
    EXPECT_NE(status.error_message().find(fragment), std::string::npos) << status.error_message();
  };
  auto request = bytes_request({"好"});
  request.set_model_name("other");
  expect(request, grpc::StatusCode::NOT_FOUND, "not found");
  request = bytes_request({"好"});
  request.set_model_version("2");
  expect(request, grpc::StatusCode::NOT_FOUND, "version");
  request = bytes_request({"好"});
  request.mutable_inputs(0)->set_datatype("FP32");
  expect(request, grpc::StatusCode::INVALID_ARGUMENT, "BYTES");
  request = bytes_request({"好", "坏"});
  request.mutable_inputs(0)->set_shape(0, 3);
  expect(request, grpc::StatusCode::INVALID_ARGUMENT, "shape");
  request = bytes_request({"好"});
  request.clear_inputs();
  expect(request, grpc::StatusCode::INVALID_ARGUMENT, "inputs");
  request = bytes_request({"\xff\xfe"});
  expect(request, grpc::StatusCode::INVALID_ARGUMENT, "UTF-8");
  request = bytes_request({"好"});
  request.add_outputs()->set_name("logits");
  expect(request, grpc::StatusCode::INVALID_ARGUMENT, "unknown output");
  request = raw_request({"好"}, {1});
  request.set_raw_input_contents(0, std::string("\x09\x00\x00\x00" "abc", 7));
  expect(request, grpc::StatusCode::INVALID_ARGUMENT, "bytes");
  request = raw_request({"好"}, {1});
  request.add_raw_input_contents("");
  expect(request, grpc::StatusCode::INVALID_ARGUMENT, "raw_input_contents");
  request = raw_request({"好"}, {1});
  request.mutable_inputs(0)->mutable_contents()->add_bytes_contents("坏");
  expect(request, grpc::StatusCode::INVALID_ARGUMENT, "both");
  // A message over --payload-limit is refused by gRPC itself.
  expect(bytes_request({std::string(kPayloadLimit + 100, 'a')}), grpc::StatusCode::RESOURCE_EXHAUSTED, "");
  // None of that stopped the server.
  inference::ModelInferResponse response;
  EXPECT_TRUE(infer(bytes_request({"好"}), response).ok());
}

TEST_F(GrpcTest, CountedInMetrics) {
  inference::ModelInferResponse response;
  ASSERT_TRUE(infer(bytes_request({"好"}), response).ok());
  failure(bytes_request({""}));
  HttpClient http(server_->port());
  const std::string metrics = http.get("/metrics").body;
  EXPECT_NE(metrics.find("senti_requests_total{endpoint=\"/inference.GRPCInferenceService/ModelInfer\",code=\"200\""),
            std::string::npos) << metrics;
  EXPECT_NE(metrics.find("senti_requests_total{endpoint=\"/inference.GRPCInferenceService/ModelInfer\",code=\"422\""),
            std::string::npos) << metrics;
}

// SIGTERM with calls in flight: each is answered, then the server exits 0.
TEST(GrpcDrain, InFlightCallsAreAnswered) {
  ServerProcess server({"--grpc-port", "0", "--max-batch-delay-us", "200000"});
  ASSERT_NE(server.grpc_port(), 0) << server.log();
  auto stub = connect(server.grpc_port());
  constexpr int kCalls = 8;
  std::vector<grpc::Status> statuses(kCalls);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i)
    threads.emplace_back([&, i] {
      grpc::ClientContext context;
      set_deadline(context);
      inference::ModelInferResponse response;
      statuses[i] = stub->ModelInfer(&context, bytes_request({"第 " + std::to_string(i) + " 条评论很好"}), &response);
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the calls wait in the batcher (200 ms delay)
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.log();
  for (auto& t : threads) t.join();
  for (const auto& s : statuses) EXPECT_TRUE(s.ok()) << s.error_message();
}

}  // namespace
}  // namespace senti::test
