#include "serving/kserve_binary.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>
#include <utility>

#include "senti/text_rules.h"
#include "serving/service_detail.h"

namespace senti::serving::kserve {

using nlohmann::json;
using detail::reject;

namespace {

std::string in_quotes(std::string_view name) {
  std::string out(1, '"');
  out += excerpt(name, 64);
  out += '"';
  return out;
}

void append_u32le(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xffu));
}

std::uint32_t read_u32le(std::string_view four) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(four[static_cast<std::size_t>(i)]);
  return v;
}

const json* parameters_of(const json& object, std::string_view what) {
  const auto it = object.find("parameters");
  if (it == object.end() || it->is_null()) return nullptr;
  if (!it->is_object()) reject(400, std::string("the \"parameters\" of ") + std::string(what) + " must be an object");
  return &*it;
}

std::optional<bool> bool_parameter(const json* parameters, const char* key, std::string_view what) {
  if (parameters == nullptr) return std::nullopt;
  const auto it = parameters->find(key);
  if (it == parameters->end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) reject(400, std::string("\"") + key + "\" of " + std::string(what) + " must be true or false");
  return it->get<bool>();
}

}  // namespace

SplitBody split_body(std::string_view body, const std::optional<std::string>& header_length) {
  if (!header_length) return {body, {}};
  const std::string& v = *header_length;
  const std::string field(kHeaderLengthField);
  if (v.empty() || v.size() > 19 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
    reject(400, field + " must be a byte count, got \"" + excerpt(v, 32) + "\"");
  const std::uint64_t n = std::stoull(v);
  if (n > body.size())
    reject(400, field + " is " + v + " but the body has only " + std::to_string(body.size()) + " bytes");
  return {body.substr(0, n), body.substr(n)};
}

std::string_view BinaryCursor::take(std::uint64_t size, std::string_view name) {
  if (size > rest_.size())
    reject(400, "input " + in_quotes(name) + " has binary_data_size " + std::to_string(size) + " but only " +
                    std::to_string(rest_.size()) + " bytes of binary data are left after the JSON header (" +
                    std::string(kHeaderLengthField) + ")");
  const std::string_view out = rest_.substr(0, size);
  rest_.remove_prefix(size);
  return out;
}

void BinaryCursor::expect_end() const {
  if (!rest_.empty())
    reject(400, std::to_string(rest_.size()) +
                    " bytes of binary data after the JSON header belong to no input (the inputs' binary_data_size "
                    "add up to less than the body holds)");
}

std::optional<std::uint64_t> binary_data_size(const json& tensor) {
  const json* parameters = parameters_of(tensor, "an input tensor");
  if (parameters == nullptr) return std::nullopt;
  const auto it = parameters->find("binary_data_size");
  if (it == parameters->end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer() || (!it->is_number_unsigned() && it->get<std::int64_t>() < 0))
    reject(400, "\"binary_data_size\" must be a non-negative integer");
  return it->get<std::uint64_t>();
}

std::vector<std::string> decode_bytes(std::string_view data, std::size_t max_elements, std::string_view name) {
  std::vector<std::string> out;
  while (!data.empty() && out.size() <= max_elements) {
    if (data.size() < 4)
      reject(400, "the binary data of BYTES input " + in_quotes(name) + " ends inside an element's 4-byte length");
    const std::uint32_t n = read_u32le(data.substr(0, 4));
    data.remove_prefix(4);
    if (n > data.size())
      reject(400, "element " + std::to_string(out.size()) + " of BYTES input " + in_quotes(name) + " says " +
                      std::to_string(n) + " bytes but only " + std::to_string(data.size()) + " are left");
    out.emplace_back(data.substr(0, n));
    data.remove_prefix(n);
  }
  return out;
}

std::string encode_bytes(const std::vector<std::string>& elements) {
  std::string out;
  for (const std::string& e : elements) {
    append_u32le(out, static_cast<std::uint32_t>(std::min<std::size_t>(e.size(), std::numeric_limits<std::uint32_t>::max())));
    out += e;
  }
  return out;
}

std::string encode_fp32(const std::vector<float>& values) {
  static_assert(sizeof(float) == 4 && std::numeric_limits<float>::is_iec559);
  std::string out;
  out.reserve(values.size() * 4);
  for (const float f : values) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &f, 4);
    append_u32le(out, bits);
  }
  return out;
}

std::string encode_int64(const std::vector<std::int64_t>& values) {
  std::string out;
  out.reserve(values.size() * 8);
  for (const std::int64_t v : values) {
    const auto u = static_cast<std::uint64_t>(v);
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((u >> (8 * i)) & 0xffu));
  }
  return out;
}

const char* datatype_name(Datatype d) {
  switch (d) {
    case Datatype::kFp32: return "FP32";
    case Datatype::kInt64: return "INT64";
    case Datatype::kBytes: break;
  }
  return "BYTES";
}

std::vector<RequestedOutput> requested_outputs(const json& request, const std::vector<std::string>& available) {
  const bool binary_default =
      bool_parameter(parameters_of(request, "the request"), "binary_data_output", "the request").value_or(false);
  std::vector<RequestedOutput> out;
  const auto it = request.find("outputs");
  if (it == request.end() || it->is_null() || (it->is_array() && it->empty())) {
    for (const std::string& name : available) out.push_back({name, binary_default});
    return out;
  }
  if (!it->is_array()) reject(400, "\"outputs\" must be a list of {\"name\": ...} objects");
  std::set<std::string> seen;
  for (const json& o : *it) {
    if (!o.is_object()) reject(400, "each item of \"outputs\" must be an object with a \"name\"");
    const auto name = o.find("name");
    if (name == o.end() || !name->is_string()) reject(400, "each requested output needs a \"name\" string");
    const std::string n = name->get<std::string>();
    if (std::find(available.begin(), available.end(), n) == available.end()) {
      std::string names;
      for (const std::string& a : available) names += (names.empty() ? "" : ", ") + a;
      reject(400, "unknown output " + in_quotes(n) + "; this model has " + names);
    }
    if (!seen.insert(n).second) reject(400, "output " + in_quotes(n) + " is requested twice");
    const json* parameters = parameters_of(o, "an output");
    if (parameters != nullptr && parameters->contains("classification") && !(*parameters)["classification"].is_null())
      reject(400, "the \"classification\" output parameter is not supported; request \"label\" and \"scores\" instead");
    out.push_back({n, bool_parameter(parameters, "binary_data", "an output").value_or(binary_default)});
  }
  return out;
}

HttpResponse infer_response(json header, const std::vector<OutputTensor>& outputs) {
  json list = json::array();
  std::string binary;
  for (const OutputTensor& t : outputs) {
    json o = {{"name", t.name}, {"datatype", datatype_name(t.datatype)}, {"shape", t.shape}};
    if (t.binary) {
      const std::string data = t.datatype == Datatype::kFp32    ? encode_fp32(t.fp32)
                               : t.datatype == Datatype::kInt64 ? encode_int64(t.int64)
                                                                : encode_bytes(t.bytes);
      o["parameters"] = {{"binary_data_size", data.size()}};
      binary += data;
    } else if (t.datatype == Datatype::kFp32) {
      o["data"] = t.fp32;
    } else if (t.datatype == Datatype::kInt64) {
      o["data"] = t.int64;
    } else {
      o["data"] = t.bytes;
    }
    list.push_back(std::move(o));
  }
  header["outputs"] = std::move(list);
  const bool any_binary = std::any_of(outputs.begin(), outputs.end(), [](const OutputTensor& t) { return t.binary; });
  HttpResponse r = detail::json_response(200, header);
  if (any_binary) {
    r.headers.emplace_back(std::string(kHeaderLengthField), std::to_string(r.body.size()));
    r.body += binary;
    r.content_type = "application/octet-stream";
  }
  return r;
}

}  // namespace senti::serving::kserve
