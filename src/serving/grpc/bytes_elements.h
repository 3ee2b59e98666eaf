// The KServe v2 binary form of a BYTES tensor: each element is a 4-byte little-endian length followed by
// that many bytes, elements back to back (raw_input_contents / raw_output_contents of the gRPC API).
// No gRPC dependency: the parser is fuzzed and unit-tested on its own.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace senti::serving {

struct BytesElements {
  std::vector<std::string> elements;
  bool truncated = false;  // more than max_elements were present; elements holds the first max_elements + 1
};

// Splits raw into its elements. At most max_elements + 1 are copied out (enough to say "too many"), so
// a hostile count costs no memory beyond raw itself. Returns nullopt with *error set when a length field
// is cut short or runs past the end.
std::optional<BytesElements> parse_bytes_elements(std::string_view raw, std::size_t max_elements, std::string* error);

// Appends one element in that form.
void append_bytes_element(std::string& out, std::string_view element);

}  // namespace senti::serving
