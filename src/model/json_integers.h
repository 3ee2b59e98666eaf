// Integers read from untrusted JSON (a compiled model's metadata). nlohmann's get<int>() and friends
// convert a float, or an integer out of the target's range, without a check: undefined behaviour for
// 8.9e77 read as std::size_t (found by senti_file_fuzzer). These accept only JSON integers that fit.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "senti/error.h"

namespace senti::model {

template <class T>
T json_integer(const nlohmann::json& v, const std::string& what) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (std::in_range<T>(u)) return static_cast<T>(u);
  } else if (v.is_number_integer()) {
    const auto s = v.get<std::int64_t>();
    if (std::in_range<T>(s)) return static_cast<T>(s);
  }
  throw ModelError(what + ": expected an integer that fits, got " + v.dump());
}

template <class T>
std::vector<T> json_integers(const nlohmann::json& v, const std::string& what) {
  if (!v.is_array()) throw ModelError(what + ": expected an array of integers, got " + v.dump());
  std::vector<T> out;
  out.reserve(v.size());
  for (const auto& e : v) out.push_back(json_integer<T>(e, what));
  return out;
}

}  // namespace senti::model
