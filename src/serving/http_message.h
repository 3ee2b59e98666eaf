// The HTTP/1.1 message handling that the live server (http_server.cc) and its socket-free twin
// (in_memory_http.cc, for fuzzing and tests) share: the request parser with the server's limits, the
// answer a failed read gets, and a Service answer as it goes on the wire.
#pragma once

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange without it

#include <optional>
#include <string>

#include <boost/beast/http.hpp>

#include "serving/options.h"
#include "serving/service.h"

namespace senti::serving {

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;
using WireResponse = boost::beast::http::response<boost::beast::http::string_body>;

// Sets the server's limits on a fresh parser: the header size and --payload-limit for the body.
void configure_request_parser(RequestParser& parser, const ServeOptions& options);

// The error answer for a failed read of a request (status, message; error_type "validation"), or
// nullopt when the connection just closes without an answer (the client left, timed out, or we close).
struct ReadRejection {
  int status;
  std::string message;
};
std::optional<ReadRejection> read_rejection(const boost::system::error_code& ec, const ServeOptions& options);

// The wire form of a Service answer. head: the answer to a HEAD request (the length GET would send,
// no body).
WireResponse make_wire_response(HttpResponse response, unsigned version, bool keep_alive, bool head,
                                const ServeOptions& options);

}  // namespace senti::serving
