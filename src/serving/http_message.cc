#include "serving/http_message.h"

#include <cstdint>
#include <string>
#include <utility>

#include "serving/kserve_binary.h"

namespace senti::serving {

namespace http = boost::beast::http;

namespace {
bool is_parse_error(const boost::system::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_target).category();
}

// Refuses a chunk whose extensions are over kMaxChunkExtension. Stateless; the parser keeps a reference.
struct ChunkExtensionLimit {
  void operator()(std::uint64_t, boost::beast::string_view extensions, boost::system::error_code& ec) const {
    if (extensions.size() > kMaxChunkExtension) ec = http::error::bad_chunk_extension;
  }
};
ChunkExtensionLimit chunk_extension_limit;
}  // namespace

HttpRequest service_request(http::request<http::string_body>&& request) {
  HttpRequest req{std::string(request.method_string()), std::string(request.target()), std::move(request.body()),
                  std::string(request[http::field::content_type]), std::string(request[http::field::content_encoding]),
                  std::nullopt};
  if (const auto it = request.find(boost::beast::string_view(kserve::kHeaderLengthField.data(), kserve::kHeaderLengthField.size())); it != request.end())
    req.inference_header_length = std::string(it->value());
  return req;
}

void configure_request_parser(RequestParser& parser, const ServeOptions& options) {
  parser.header_limit(kHeaderLimit);
  parser.body_limit(options.payload_limit);
  parser.on_chunk_header(chunk_extension_limit);
}

std::optional<ReadRejection> read_rejection(const boost::system::error_code& ec, ReadPhase phase,
                                            const ServeOptions& options) {
  if (ec == http::error::body_limit)
    return ReadRejection{413, "the body is over the limit of " + std::to_string(options.payload_limit) +
                                  " bytes (--payload-limit)"};
  if (phase == ReadPhase::kHeader && (ec == http::error::header_limit || ec == http::error::buffer_overflow))
    return ReadRejection{431, "the request headers are over the limit of " + std::to_string(kHeaderLimit) + " bytes"};
  if (phase == ReadPhase::kBody && (ec == http::error::buffer_overflow || ec == http::error::bad_chunk_extension))
    return ReadRejection{400, "a chunk header or the trailer section is over the limit of " +
                                  std::to_string(kMaxChunkExtension) + " bytes of chunk extensions / " +
                                  std::to_string(kMaxBufferedBytes) + " bytes in all"};
  if (ec && is_parse_error(ec) && ec != http::error::end_of_stream && ec != http::error::partial_message)
    return ReadRejection{400, "malformed HTTP request: " + ec.message()};
  return std::nullopt;
}

WireResponse make_wire_response(HttpResponse response, unsigned version, bool keep_alive, bool head,
                                const ServeOptions& options) {
  WireResponse res(static_cast<http::status>(response.status), version);
  res.set(http::field::server, "senti/" + options.version);
  res.set(http::field::content_type, response.content_type);
  for (auto& [name, value] : response.headers) res.set(name, value);
  res.keep_alive(keep_alive);
  if (head) {
    res.content_length(response.body.size());  // what GET would send, without the body
  } else {
    res.body() = std::move(response.body);
    res.prepare_payload();
  }
  return res;
}

}  // namespace senti::serving
