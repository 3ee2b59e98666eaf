// Small HTTP helpers without any network dependency: URL decoding, query strings, JSON error bodies.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace senti::serving {

// Decodes %XX escapes (and '+' as a space when plus_as_space, as in query strings). nullopt when an
// escape is malformed ("%", "%4", "%zz"). The result may be any bytes; UTF-8 is checked later.
std::optional<std::string> percent_decode(std::string_view in, bool plus_as_space);

// Percent-encodes every byte but RFC 3986's unreserved characters (A-Z a-z 0-9 - . _ ~), so that
// percent_decode(percent_encode(s), false) == s for any bytes s (e.g. a model name put into a path).
std::string percent_encode(std::string_view in);

// Splits "a=1&b=2" into decoded pairs; nullopt when any part has a bad escape. A key without '='
// gets an empty value; empty parts ("a=1&&b=2") are skipped.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view query);

// The request target split at the first '?'.
struct Target {
  std::string_view path;
  std::string_view query;
};
Target split_target(std::string_view target);

// True when s is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view s);

// The deepest nesting of arrays/objects in a JSON text (brackets inside strings do not count),
// scanning no further than the point where it passes `limit` (then returns limit + 1). Run before
// parsing, so a body of a million '[' is refused in linear time without building anything.
std::size_t json_nesting_depth(std::string_view text, std::size_t limit);

// True when the Content-Type names JSON (application/json, or a +json type), or is absent.
bool is_json_content_type(std::string_view content_type);

// {"error": message, "error_type": type}
std::string error_body(std::string_view message, std::string_view type);

}  // namespace senti::serving
