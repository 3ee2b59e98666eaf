// The request decoders of the prediction APIs, through the real Service (router, validation,
// tokenizer, batcher, tiny model): seed GET /predict?text=..., TEI POST /predict, KServe v2 infer (JSON
// and binary tensor extension), Hugging Face POST /, KServe v1 :predict.
//   input: byte 0 picks the API (0 GET, 1 TEI, 2 KServe v2 JSON, 3 KServe v2 binary, 4 POST /, 5 KServe v1);
//   the rest is the query string (GET) or the body (POST). For 3, bytes 1-2 (little-endian) are the
//   Inference-Header-Content-Length value, and the body follows them.
// Invariants: never a 500; every answer is JSON, errors carry error/error_type; a 200 has the shape
// its API promises; a binary answer's header length, JSON header and binary_data_size add up exactly.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz_support.h"
#include "service_fixture.h"

namespace {

using nlohmann::json;
using senti::fuzz::fail;

// Each output's data holds as many elements as its shape says.
void check_outputs(const json& j) {
  if (!j.is_object() || !j.contains("outputs") || !j["outputs"].is_array() || j["outputs"].empty() ||
      j["outputs"].size() > 3)
    fail("KServe shape: outputs");
  for (const json& o : j["outputs"]) {
    std::size_t elements = 1;
    for (const json& d : o["shape"]) elements *= d.get<std::size_t>();
    if (o.contains("data") && o["data"].size() != elements) fail("KServe shape: data vs shape");
  }
}

// A binary answer: Inference-Header-Content-Length within the body, a JSON header, and the outputs'
// binary_data_size adding up to exactly the bytes after it.
void check_binary_answer(const senti::serving::HttpResponse& response) {
  std::string length;
  for (const auto& [name, value] : response.headers)
    if (name == "Inference-Header-Content-Length") length = value;
  if (length.empty()) fail("binary answer without Inference-Header-Content-Length");
  const std::size_t n = std::stoul(length);
  if (n > response.body.size()) fail("binary answer: header length past the body");
  const json header = json::parse(response.body.substr(0, n), nullptr, false);
  if (header.is_discarded()) fail("binary answer: the header is not JSON");
  check_outputs(header);
  std::size_t binary = 0;
  for (const json& o : header["outputs"])
    if (o.contains("parameters")) binary += o["parameters"]["binary_data_size"].get<std::size_t>();
  if (n + binary != response.body.size()) fail("binary answer: binary_data_size does not add up to the body");
}

void check_success(int api, const json& j) {
  if (api == 0) {
    if (!j.is_object() || !j.contains("label") || !j.contains("score") || !j.contains("text")) fail("GET /predict shape");
  } else if (api == 1 || api == 4) {
    if (!j.is_array() || j.empty()) fail("TEI shape: not a non-empty list");
  } else if (api == 5) {
    if (!j.is_object() || !j.contains("predictions") || j["predictions"].empty()) fail("KServe v1 shape: predictions");
  } else {
    check_outputs(j);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int api = data[0] % 6;
  std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  senti::serving::HttpRequest request;
  if (api == 0) {
    request = {"GET", "/predict?" + rest, "", "", "", std::nullopt};
  } else if (api == 1) {
    request = {"POST", "/predict", rest, "", "", std::nullopt};
  } else if (api == 2) {
    request = {"POST", "/v2/models/tiny/infer", rest, "", "", std::nullopt};
  } else if (api == 3) {
    if (rest.size() < 2) return 0;
    const unsigned length = static_cast<unsigned char>(rest[0]) | (static_cast<unsigned>(static_cast<unsigned char>(rest[1])) << 8);
    request = {"POST", "/v2/models/tiny/infer", rest.substr(2), "application/octet-stream", "", std::to_string(length)};
  } else if (api == 4) {
    request = {"POST", "/", rest, "", "", std::nullopt};
  } else {
    request = {"POST", "/v1/models/tiny:predict", rest, "", "", std::nullopt};
  }
  const senti::serving::HttpResponse response = senti::fuzz::tiny_server().handle(std::move(request));
  if (response.content_type == "application/octet-stream") {
    if (response.status != 200) fail("a binary error answer");
    check_binary_answer(response);
    return 0;
  }
  senti::fuzz::check_answer(response.status, response.body, response.content_type);
  if (response.status == 200) check_success(api, json::parse(response.body));
  return 0;
}
