// Request body decoding for `Content-Encoding` (gzip, deflate) with a bound on the decoded size, so a
// small compressed body can never inflate past --payload-limit (a zip bomb is answered 413).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace senti::serving {

struct DecodedBody {
  enum class Status { kOk, kUnsupported, kTooLarge, kCorrupt };
  Status status = Status::kOk;
  std::string body;
};

// Decodes body as `encoding` says ("", "identity", "gzip", "x-gzip", "deflate"; case-insensitive;
// one coding only; gzip may hold several members, decoded one after another). kTooLarge as soon as the
// output would pass max_output bytes; kUnsupported for any other coding; kCorrupt when the data is not
// what the coding says, is truncated, or has bytes after its end.
DecodedBody decode_content(std::string_view encoding, std::string body, std::size_t max_output);

}  // namespace senti::serving
