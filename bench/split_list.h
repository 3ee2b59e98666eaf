// Comma-separated command-line lists of the bench tools ("fp32,int8", "1x14,32x55").
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace senti::bench {

// The non-empty items of `s` between `sep`s.
inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, sep))
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace senti::bench
