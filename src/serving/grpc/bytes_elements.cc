#include "serving/grpc/bytes_elements.h"

#include <cstdint>

namespace senti::serving {

std::optional<BytesElements> parse_bytes_elements(std::string_view raw, std::size_t max_elements, std::string* error) {
  BytesElements out;
  std::size_t offset = 0, index = 0;
  while (offset < raw.size()) {
    if (raw.size() - offset < 4) {
      *error = "element " + std::to_string(index) + " of the raw BYTES tensor has a cut-short 4-byte length (" +
               std::to_string(raw.size() - offset) + " bytes left)";
      return std::nullopt;
    }
    const auto* p = reinterpret_cast<const unsigned char*>(raw.data() + offset);
    const std::uint32_t length = std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
                                 std::uint32_t{p[3]} << 24;
    offset += 4;
    if (length > raw.size() - offset) {
      *error = "element " + std::to_string(index) + " of the raw BYTES tensor says " + std::to_string(length) +
               " bytes but only " + std::to_string(raw.size() - offset) + " are left";
      return std::nullopt;
    }
    if (out.elements.size() <= max_elements) {
      out.elements.emplace_back(raw.substr(offset, length));
    } else {
      out.truncated = true;
    }
    offset += length;
    ++index;
  }
  return out;
}

void append_bytes_element(std::string& out, std::string_view element) {
  const auto n = static_cast<std::uint32_t>(element.size());
  const char prefix[4] = {static_cast<char>(n & 0xff), static_cast<char>((n >> 8) & 0xff),
                          static_cast<char>((n >> 16) & 0xff), static_cast<char>((n >> 24) & 0xff)};
  out.append(prefix, 4);
  out.append(element);
}

}  // namespace senti::serving
