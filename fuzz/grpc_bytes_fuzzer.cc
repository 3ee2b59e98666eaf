// The raw BYTES tensor parser of the gRPC endpoint (raw_input_contents: 4-byte little-endian length,
// then the bytes, repeated) on arbitrary bytes. Invariants: it refuses exactly the inputs whose length
// fields are cut short or run past the end; what it accepts re-encodes to the same bytes; it copies out
// at most max_elements + 1 elements, whatever the input claims.
//   input: byte 0 is max_elements (0-255); the rest is the raw contents.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "serving/grpc/bytes_elements.h"

namespace {

using senti::fuzz::fail;

// Whether raw is a well-formed sequence of length-prefixed elements, and how many it holds.
bool well_formed(std::string_view raw, std::size_t* count) {
  std::size_t offset = 0;
  *count = 0;
  while (offset < raw.size()) {
    if (raw.size() - offset < 4) return false;
    const auto* p = reinterpret_cast<const unsigned char*>(raw.data() + offset);
    const std::uint64_t n = p[0] | p[1] << 8 | p[2] << 16 | std::uint64_t{p[3]} << 24;
    offset += 4;
    if (n > raw.size() - offset) return false;
    offset += n;
    ++*count;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t max_elements = data[0];
  const std::string_view raw(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string error;
  const auto parsed = senti::serving::parse_bytes_elements(raw, max_elements, &error);
  std::size_t count = 0;
  const bool ok = well_formed(raw, &count);
  if (ok != parsed.has_value()) fail("accepted " + std::to_string(parsed.has_value()) + ", well-formed " + std::to_string(ok));
  if (!parsed) {
    if (error.empty()) fail("refused without a message");
    return 0;
  }
  if (parsed->elements.size() != std::min(count, max_elements + 1)) fail("wrong number of elements copied out");
  if (parsed->truncated != (count > max_elements + 1)) fail("truncated flag wrong");
  std::string again;
  for (const auto& e : parsed->elements) senti::serving::append_bytes_element(again, e);
  if (!parsed->truncated && again != raw) fail("does not re-encode to the input");
  if (parsed->truncated && raw.substr(0, again.size()) != again) fail("the elements copied out are not the first ones");
  return 0;
}
