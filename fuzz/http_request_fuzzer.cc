// Bytes from a client's connection through the live server's HTTP parser (same limits), router,
// decoders, batcher and the tiny model (serving/in_memory_http.h), as `senti serve` reads them.
// Invariants: no exception escapes; what comes back is a sequence of well-formed HTTP responses, each
// with a Content-Length that matches (HEAD: no body), none a 500, and their JSON bodies as
// check_answer demands.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "service_fixture.h"

namespace {

using senti::fuzz::fail;

std::string header_value(std::string_view head, std::string_view name) {
  const std::string key = "\r\n" + std::string(name) + ": ";
  const std::size_t at = head.find(key);
  if (at == std::string_view::npos) return "";
  const std::size_t start = at + key.size();
  return std::string(head.substr(start, head.find("\r\n", start) - start));
}

// Walks the responses one by one.
void check_wire(std::string_view wire) {
  while (!wire.empty()) {
    if (!wire.starts_with("HTTP/1.1 ") && !wire.starts_with("HTTP/1.0 ")) fail("no status line");
    const std::size_t end = wire.find("\r\n\r\n");
    if (end == std::string_view::npos) fail("response headers not terminated");
    const std::string_view head = wire.substr(0, end);
    const int status = std::stoi(std::string(head.substr(9, 3)));
    wire.remove_prefix(end + 4);
    if (status == 100) continue;
    const std::string length_text = header_value(head, "Content-Length");
    if (length_text.empty()) fail("response without Content-Length");
    const std::size_t length = std::stoul(length_text);
    // A HEAD answer announces the length without sending the body: the next response (or the end)
    // follows at once. No body of senti's starts with "HTTP/1." (JSON or Prometheus text).
    const bool head_answer =
        length > 0 && (wire.empty() || wire.starts_with("HTTP/1.1 ") || wire.starts_with("HTTP/1.0 "));
    if (head_answer) continue;
    if (wire.size() < length) fail("body shorter than its Content-Length");
    senti::fuzz::check_answer(status, std::string(wire.substr(0, length)), header_value(head, "Content-Type"));
    wire.remove_prefix(length);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check_wire(senti::fuzz::tiny_server().serve_bytes(bytes));
  return 0;
}
