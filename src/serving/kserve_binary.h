// The KServe v2 / Triton HTTP binary tensor data extension, as tritonclient.http uses it by default.
// A request body is a JSON inference header of Inference-Header-Content-Length bytes followed by raw
// tensor data; each tensor with "parameters": {"binary_data_size": n} owns the next n bytes, in the
// order of the tensors in the header. BYTES tensors are elements, each a 4-byte little-endian length
// and that many bytes; FP32 tensors are little-endian floats. Outputs asked for as binary
// ("parameters": {"binary_data": true} per output, or "binary_data_output": true for the request) go
// the same way in the answer. Every length is untrusted: a bad one is a detail::RequestError 400 that
// names it, and nothing is allocated beyond what the (already size-limited) body holds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "serving/service.h"

namespace senti::serving::kserve {

// The header's name (HTTP field names are case-insensitive).
inline constexpr std::string_view kHeaderLengthField = "Inference-Header-Content-Length";

// The body split at Inference-Header-Content-Length: the JSON header and the binary data after it.
// header_length: the field's value, nullopt when absent (the whole body is JSON, no binary data).
// 400 when the value is not a decimal byte count within the body.
struct SplitBody {
  std::string_view header;
  std::string_view binary;
};
SplitBody split_body(std::string_view body, const std::optional<std::string>& header_length);

// The binary data of the tensors, handed out in order.
class BinaryCursor {
 public:
  explicit BinaryCursor(std::string_view data) : rest_(data) {}
  // The next `size` bytes, for the tensor `name`; 400 when fewer are left.
  std::string_view take(std::uint64_t size, std::string_view name);
  // 400 when bytes are left that no tensor's binary_data_size claimed.
  void expect_end() const;

 private:
  std::string_view rest_;
};

// A tensor's "parameters": {"binary_data_size": n}; nullopt when it has none (its data is JSON "data").
// 400 when "parameters" is not an object or the size is not a non-negative integer.
std::optional<std::uint64_t> binary_data_size(const nlohmann::json& tensor);

// The elements of a BYTES tensor's binary data. Decodes at most max_elements + 1 elements (more is a
// batch the caller refuses anyway, so a body of empty elements cannot make millions of strings).
// 400 when a length prefix is cut short or a length runs past the end of the data.
std::vector<std::string> decode_bytes(std::string_view data, std::size_t max_elements, std::string_view name);

// The binary forms of the datatypes senti answers with.
std::string encode_bytes(const std::vector<std::string>& elements);
std::string encode_fp32(const std::vector<float>& values);
std::string encode_int64(const std::vector<std::int64_t>& values);

enum class Datatype { kBytes, kFp32, kInt64 };
const char* datatype_name(Datatype d);  // "BYTES", "FP32", "INT64"

// An output tensor of an infer answer, with its data in the vector of its datatype.
struct OutputTensor {
  std::string name;
  std::vector<std::size_t> shape;
  Datatype datatype = Datatype::kBytes;
  bool binary = false;  // sent as binary data after the JSON header
  std::vector<std::string> bytes;   // BYTES
  std::vector<float> fp32;          // FP32
  std::vector<std::int64_t> int64;  // INT64
};

// The outputs a request asks for, in its order (every available one, in the given order, when
// "outputs" is absent or empty), and whether each goes as binary: the output's own
// "parameters": {"binary_data": bool}, else the request's "parameters": {"binary_data_output": bool},
// else JSON. 400 for an unknown or repeated name, wrong types, or the unsupported "classification".
struct RequestedOutput {
  std::string name;
  bool binary = false;
};
std::vector<RequestedOutput> requested_outputs(const nlohmann::json& request, const std::vector<std::string>& available);

// The answer: `header` (model_name, model_version, id) plus "outputs". All-JSON outputs give a JSON
// body; any binary output gives the JSON header followed by the binary data, Content-Type
// application/octet-stream and the Inference-Header-Content-Length response header.
HttpResponse infer_response(nlohmann::json header, const std::vector<OutputTensor>& outputs);

}  // namespace senti::serving::kserve
