#include "serving/content_encoding.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <limits>

namespace senti::serving {
namespace {

std::string trimmed_lower(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// window_bits: 16 + MAX_WBITS for gzip, 32 + MAX_WBITS lets zlib detect zlib or gzip headers.
// members: gzip may hold several members one after another (RFC 1952 2.2, what `cat a.gz b.gz` or
// `gzip -c a b` writes); the body is all of them, decoded in order. Any other byte after the end of the
// (last) stream is refused as corrupt rather than silently dropped.
DecodedBody inflate_bounded(const std::string& in, int window_bits, bool members, std::size_t max_output) {
  DecodedBody out;
  z_stream z{};
  if (inflateInit2(&z, window_bits) != Z_OK) {
    out.status = DecodedBody::Status::kCorrupt;
    return out;
  }
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(std::min<std::size_t>(in.size(), std::numeric_limits<uInt>::max()));
  char chunk[16384];
  while (true) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    const int rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      out.status = DecodedBody::Status::kCorrupt;
      break;
    }
    const std::size_t produced = sizeof chunk - z.avail_out;
    if (out.body.size() + produced > max_output) {
      out.status = DecodedBody::Status::kTooLarge;
      break;
    }
    out.body.append(chunk, produced);
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) break;  // the whole body decoded
      if (!members || inflateReset(&z) != Z_OK) {
        out.status = DecodedBody::Status::kCorrupt;  // bytes after the end of the stream
        break;
      }
      continue;  // the next gzip member (anything else fails its header check above)
    }
    if (produced == 0 && z.avail_in == 0) {  // truncated stream
      out.status = DecodedBody::Status::kCorrupt;
      break;
    }
  }
  inflateEnd(&z);
  if (out.status != DecodedBody::Status::kOk) out.body.clear();
  return out;
}

}  // namespace

DecodedBody decode_content(std::string_view encoding, std::string body, std::size_t max_output) {
  const std::string coding = trimmed_lower(encoding);
  if (coding.empty() || coding == "identity") {
    DecodedBody out;
    out.body = std::move(body);
    return out;
  }
  if (coding == "gzip" || coding == "x-gzip") return inflate_bounded(body, 16 + MAX_WBITS, true, max_output);
  if (coding == "deflate") return inflate_bounded(body, 32 + MAX_WBITS, false, max_output);
  DecodedBody out;
  out.status = DecodedBody::Status::kUnsupported;
  return out;
}

}  // namespace senti::serving
