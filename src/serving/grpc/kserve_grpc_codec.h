// Translation between the KServe v2 gRPC messages (kserve_v2.proto) and the HTTP KServe v2 API of
// Service: a gRPC call becomes the equivalent HTTP request, so it takes the same path (validation,
// admission, batcher, metrics, errors) and gets the same answer, which is then turned back into protobuf.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/support/status.h>
#include <nlohmann/json.hpp>

#include "serving/grpc/kserve_v2.pb.h"
#include "serving/service.h"

namespace senti::serving::grpc_codec {

// A request the codec refuses before it reaches the service.
struct CodecError {
  grpc::StatusCode code;
  std::string message;
};

// "/v2/models/<name>" with the name %-escaped, then "/versions/<version>" when one is given.
std::string model_path(std::string_view name, std::string_view version);

// The KServe v2 HTTP infer request (POST .../infer, a JSON body) equivalent to a ModelInfer request:
// the "text" input's elements from bytes_contents or raw_input_contents, at most max_texts + 1 of them
// (the service answers the batch-size error); the request's parameters (explain, granularity, long_text:
// bool, string or number InferParameters, binary_data_output left out) as its JSON "parameters"; the
// requested outputs as its "outputs", in the service's order. Throws CodecError for what JSON cannot carry
// (invalid UTF-8, malformed raw contents, unknown requested outputs, raw and typed contents mixed).
HttpRequest infer_request(const inference::ModelInferRequest& request, std::size_t max_texts);

// The names of the outputs the request asks for, in its order; empty: all of them.
std::vector<std::string> requested_outputs(const inference::ModelInferRequest& request);

// Fills response from the HTTP KServe v2 infer answer (JSON), with only the requested outputs, their
// data (BYTES, FP32, INT64) in raw_output_contents. Throws std::exception when the answer is not what the service produces.
void infer_response(const nlohmann::json& answer, const std::vector<std::string>& outputs,
                    inference::ModelInferResponse& response);

void model_metadata_response(const nlohmann::json& answer, inference::ModelMetadataResponse& response);
void server_metadata_response(const nlohmann::json& answer, inference::ServerMetadataResponse& response);

// The gRPC status of an HTTP error answer ({"error", "error_type"}): 400/415/422 INVALID_ARGUMENT,
// 404 NOT_FOUND, 413/429 RESOURCE_EXHAUSTED, 503 UNAVAILABLE, others INTERNAL.
grpc::Status error_status(const HttpResponse& response);

}  // namespace senti::serving::grpc_codec
