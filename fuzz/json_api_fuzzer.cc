// The request decoders of the three prediction APIs, through the real Service (router, validation,
// tokenizer, batcher, tiny model): seed GET /predict?text=..., TEI POST /predict, KServe v2 infer.
//   input: byte 0 picks the API; the rest is the query string (GET) or the JSON body (POST).
// Invariants: never a 500; every answer is JSON, errors carry error/error_type; a 200 has the shape
// its API promises.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "service_fixture.h"

namespace {

using nlohmann::json;
using senti::fuzz::fail;

void check_success(int api, const json& j) {
  if (api == 0) {
    if (!j.is_object() || !j.contains("label") || !j.contains("score") || !j.contains("text")) fail("GET /predict shape");
  } else if (api == 1) {
    if (!j.is_array() || j.empty()) fail("TEI shape: not a non-empty list");
  } else {
    if (!j.is_object() || !j.contains("outputs") || j["outputs"].size() != 3) fail("KServe shape: outputs");
    const json& labels = j["outputs"][0];
    if (labels["data"].size() != labels["shape"][0].get<std::size_t>()) fail("KServe shape: label data vs shape");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int api = data[0] % 3;
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  senti::serving::HttpRequest request;
  if (api == 0) {
    request = {"GET", "/predict?" + rest, "", "", ""};
  } else if (api == 1) {
    request = {"POST", "/predict", rest, "", ""};
  } else {
    request = {"POST", "/v2/models/tiny/infer", rest, "", ""};
  }
  const senti::serving::HttpResponse response = senti::fuzz::tiny_server().handle(std::move(request));
  senti::fuzz::check_answer(response.status, response.body, response.content_type);
  if (response.status == 200) check_success(api, json::parse(response.body));
  return 0;
}
