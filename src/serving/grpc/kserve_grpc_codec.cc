#include "serving/grpc/kserve_grpc_codec.h"

#include <array>
#include <bit>
#include <cstring>
#include <stdexcept>

#include "senti/text_rules.h"
#include "serving/http_util.h"
#include "serving/grpc/bytes_elements.h"

namespace senti::serving::grpc_codec {

using nlohmann::json;

namespace {

// Every output the service can answer, in its order (the analysis ones only when asked for: analysis_answers.h).
constexpr std::array<std::string_view, 6> kOutputs = {"label", "score", "scores", "explanation", "sentences", "chunks"};

[[noreturn]] void invalid(std::string message) { throw CodecError{grpc::StatusCode::INVALID_ARGUMENT, std::move(message)}; }

// The index of the input tensor the service reads: the only one, else the one named "text".
int text_input_index(const inference::ModelInferRequest& request) {
  if (request.inputs_size() == 1) return 0;
  for (int i = 0; i < request.inputs_size(); ++i)
    if (request.inputs(i).name() == "text") return i;
  return -1;
}

// The texts of the input tensor, at most max_texts + 1.
json texts_of(const inference::ModelInferRequest& request, int index, std::size_t max_texts) {
  const auto& tensor = request.inputs(index);
  std::vector<std::string> texts;
  if (request.raw_input_contents_size() > 0) {
    if (tensor.has_contents() && tensor.contents().bytes_contents_size() > 0)
      invalid("the input tensor \"" + tensor.name() + "\" has both contents and raw_input_contents");
    std::string error;
    auto parsed = parse_bytes_elements(request.raw_input_contents(index), max_texts, &error);
    if (!parsed) invalid(error);
    texts = std::move(parsed->elements);
  } else {
    const auto& bytes = tensor.contents().bytes_contents();
    for (int i = 0; i < bytes.size() && texts.size() <= max_texts; ++i) texts.push_back(bytes.Get(i));
  }
  json data = json::array();
  for (std::size_t i = 0; i < texts.size(); ++i) {
    // JSON carries only UTF-8: the service's own message for what it would refuse anyway.
    if (!is_valid_utf8(texts[i]))
      invalid("the text is not valid UTF-8" + (texts.size() > 1 ? " (input " + std::to_string(i) + ")" : std::string()));
    data.push_back(std::move(texts[i]));
  }
  return data;
}

// The request's parameters as JSON (explain, granularity, long_text, ...). binary_data_output stays out: the
// service's answer to the codec is JSON.
json parameters_of(const inference::ModelInferRequest& request) {
  json out = json::object();
  for (const auto& [key, p] : request.parameters()) {
    if (key == "binary_data_output") continue;
    if (!is_valid_utf8(key)) invalid("a parameter name is not valid UTF-8");
    switch (p.parameter_choice_case()) {
      case inference::InferParameter::kBoolParam: out[key] = p.bool_param(); break;
      case inference::InferParameter::kInt64Param: out[key] = p.int64_param(); break;
      case inference::InferParameter::kStringParam:
        if (!is_valid_utf8(p.string_param())) invalid("parameter \"" + excerpt(key, 64) + "\" is not valid UTF-8");
        out[key] = p.string_param();
        break;
      case inference::InferParameter::kDoubleParam: out[key] = p.double_param(); break;
      case inference::InferParameter::kUint64Param: out[key] = p.uint64_param(); break;
      case inference::InferParameter::PARAMETER_CHOICE_NOT_SET: break;
    }
  }
  return out;
}

void append_fp32(std::string& out, float value) {
  static_assert(std::endian::native == std::endian::little, "raw FP32 tensors are little-endian");
  char bytes[sizeof value];
  std::memcpy(bytes, &value, sizeof value);
  out.append(bytes, sizeof value);
}

void append_int64(std::string& out, std::int64_t value) {
  static_assert(std::endian::native == std::endian::little, "raw INT64 tensors are little-endian");
  char bytes[sizeof value];
  std::memcpy(bytes, &value, sizeof value);
  out.append(bytes, sizeof value);
}

}  // namespace

std::string model_path(std::string_view name, std::string_view version) {
  std::string path = "/v2/models/" + percent_encode(name);
  if (!version.empty()) path += "/versions/" + percent_encode(version);
  return path;
}

std::vector<std::string> requested_outputs(const inference::ModelInferRequest& request) {
  std::vector<std::string> names;
  for (const auto& o : request.outputs()) names.push_back(o.name());
  return names;
}

HttpRequest infer_request(const inference::ModelInferRequest& request, std::size_t max_texts) {
  for (const auto& o : request.outputs()) {
    bool known = false;
    for (const auto name : kOutputs) known = known || o.name() == name;
    if (!known)
      invalid("unknown output \"" + excerpt(o.name(), 64) +
              "\"; the outputs are \"label\", \"score\" and \"scores\", and with the analysis parameters "
              "\"explanation\", \"sentences\" and \"chunks\"");
  }
  // The requested outputs go to the service in its own order, each once (the answer keeps that order),
  // so that it refuses an analysis output asked for without its parameter.
  json outputs = json::array();
  for (const auto name : kOutputs)
    for (const auto& o : request.outputs())
      if (o.name() == name) {
        outputs.push_back({{"name", std::string(name)}});
        break;
      }
  if (request.raw_input_contents_size() > 0 && request.raw_input_contents_size() != request.inputs_size())
    invalid("raw_input_contents has " + std::to_string(request.raw_input_contents_size()) + " entries for " +
            std::to_string(request.inputs_size()) + " inputs; give one per input");
  const int text_index = text_input_index(request);
  json inputs = json::array();
  for (int i = 0; i < request.inputs_size(); ++i) {
    const auto& t = request.inputs(i);
    json shape = json::array();
    for (const auto d : t.shape()) shape.push_back(d);
    json tensor = {{"name", t.name()}, {"datatype", t.datatype()}, {"shape", std::move(shape)}};
    // Only the tensor the service reads carries its data (the others are ignored there), and only when
    // it is BYTES (the service refuses other types by their datatype).
    tensor["data"] = i == text_index && t.datatype() == "BYTES" ? texts_of(request, i, max_texts) : json::array();
    inputs.push_back(std::move(tensor));
  }
  json body = {{"inputs", std::move(inputs)}};
  if (!outputs.empty()) body["outputs"] = std::move(outputs);
  if (json parameters = parameters_of(request); !parameters.empty()) body["parameters"] = std::move(parameters);
  if (!request.id().empty()) {
    if (!is_valid_utf8(request.id())) invalid("\"id\" is not valid UTF-8");
    body["id"] = request.id();
  }
  HttpRequest http;
  http.method = "POST";
  http.target = model_path(request.model_name(), request.model_version()) + "/infer";
  http.content_type = "application/json";
  http.body = dump_json(body);
  return http;
}

void infer_response(const json& answer, const std::vector<std::string>& outputs, inference::ModelInferResponse& response) {
  response.set_model_name(answer.at("model_name").get<std::string>());
  response.set_model_version(answer.at("model_version").get<std::string>());
  if (const auto id = answer.find("id"); id != answer.end() && id->is_string()) response.set_id(id->get<std::string>());
  for (const json& tensor : answer.at("outputs")) {
    const std::string name = tensor.at("name").get<std::string>();
    bool wanted = outputs.empty();
    for (const auto& o : outputs) wanted = wanted || o == name;
    if (!wanted) continue;
    auto* out = response.add_outputs();
    out->set_name(name);
    const std::string datatype = tensor.at("datatype").get<std::string>();
    out->set_datatype(datatype);
    for (const json& d : tensor.at("shape")) out->add_shape(d.get<std::int64_t>());
    std::string raw;
    for (const json& value : tensor.at("data")) {
      if (datatype == "BYTES") {
        append_bytes_element(raw, value.get<std::string>());
      } else if (datatype == "FP32") {
        append_fp32(raw, value.get<float>());
      } else if (datatype == "INT64") {
        append_int64(raw, value.get<std::int64_t>());
      } else {
        throw std::runtime_error("unexpected output datatype " + datatype);
      }
    }
    response.add_raw_output_contents(std::move(raw));
  }
}

void model_metadata_response(const json& answer, inference::ModelMetadataResponse& response) {
  response.set_name(answer.at("name").get<std::string>());
  for (const json& v : answer.at("versions")) response.add_versions(v.get<std::string>());
  response.set_platform(answer.at("platform").get<std::string>());
  auto fill = [](const json& tensors, auto add) {
    for (const json& t : tensors) {
      auto* m = add();
      m->set_name(t.at("name").get<std::string>());
      m->set_datatype(t.at("datatype").get<std::string>());
      for (const json& d : t.at("shape")) m->add_shape(d.get<std::int64_t>());
    }
  };
  fill(answer.at("inputs"), [&] { return response.add_inputs(); });
  fill(answer.at("outputs"), [&] { return response.add_outputs(); });
}

void server_metadata_response(const json& answer, inference::ServerMetadataResponse& response) {
  response.set_name(answer.at("name").get<std::string>());
  response.set_version(answer.at("version").get<std::string>());
  for (const json& e : answer.at("extensions")) response.add_extensions(e.get<std::string>());
}

grpc::Status error_status(const HttpResponse& response) {
  const json body = json::parse(response.body, nullptr, false);
  std::string message = body.is_object() && body.contains("error") && body["error"].is_string()
                            ? body["error"].get<std::string>()
                            : "HTTP status " + std::to_string(response.status);
  grpc::StatusCode code = grpc::StatusCode::INTERNAL;
  switch (response.status) {
    case 400:
    case 415:
    case 422:
      code = grpc::StatusCode::INVALID_ARGUMENT;
      break;
    case 404:
      code = grpc::StatusCode::NOT_FOUND;
      break;
    case 405:
      code = grpc::StatusCode::UNIMPLEMENTED;
      break;
    case 413:
    case 429:
      code = grpc::StatusCode::RESOURCE_EXHAUSTED;
      break;
    case 503:
      code = grpc::StatusCode::UNAVAILABLE;
      break;
    default:
      break;
  }
  return {code, message};
}

}  // namespace senti::serving::grpc_codec
