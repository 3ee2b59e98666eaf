// The HTTP/1.1 message handling that the live server (http_server.cc) and its socket-free twin
// (in_memory_http.cc, for fuzzing and tests) share: the request parser with the server's limits, the
// answer a failed read gets, and a Service answer as it goes on the wire.
#pragma once

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <cstddef>
#include <optional>
#include <string>

#include <boost/beast/http.hpp>

#include "serving/options.h"
#include "serving/service.h"

namespace senti::serving {

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;
using WireResponse = boost::beast::http::response<boost::beast::http::string_body>;

// The request line and headers may take this many bytes.
constexpr std::size_t kHeaderLimit = 48 * 1024;
// The read buffer's bound. It also caps a chunk header line (chunk extensions included) and the trailer
// section; it stays below 65,535 bytes so that no header or trailer field can reach Beast's own field
// size limit (which throws std::length_error instead of reporting an error).
constexpr std::size_t kMaxBufferedBytes = 64 * 1024 - 1;
// Chunk extensions are ignored; a chunk header line may carry this much of them.
constexpr std::size_t kMaxChunkExtension = 4096;

// Sets the server's limits on a fresh parser: the header size, --payload-limit for the body, and the
// chunk extension bound. The read buffer must be bounded by kMaxBufferedBytes too.
void configure_request_parser(RequestParser& parser, const ServeOptions& options);

// The error answer for a failed read of a request (status, message; error_type "validation"), or
// nullopt when the connection just closes without an answer (the client left, timed out, or we close).
struct ReadRejection {
  int status;
  std::string message;
};
// phase: whether the read that failed was the request's header or its body (chunks, trailers).
enum class ReadPhase { kHeader, kBody };
std::optional<ReadRejection> read_rejection(const boost::system::error_code& ec, ReadPhase phase,
                                            const ServeOptions& options);

// The Service's view of a parsed request: method, target, body (moved out), Content-Type,
// Content-Encoding and Inference-Header-Content-Length.
HttpRequest service_request(boost::beast::http::request<boost::beast::http::string_body>&& request);

// The wire form of a Service answer. head: the answer to a HEAD request (the length GET would send,
// no body).
WireResponse make_wire_response(HttpResponse response, unsigned version, bool keep_alive, bool head,
                                const ServeOptions& options);

}  // namespace senti::serving
