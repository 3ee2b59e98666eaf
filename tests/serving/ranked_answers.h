// Comparing TEI answers ([{"label", "score"}...]) in the load tests: the same scores per label, in
// whatever order, within float noise.
#pragma once

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

namespace senti::test {

// The score of `label` in a ranked answer; NaN when it is absent.
inline double ranked_score_of(const nlohmann::json& ranked, const std::string& label) {
  for (const auto& e : ranked)
    if (e["label"] == label) return e["score"].get<double>();
  return NAN;
}

inline bool same_ranked_answer(const nlohmann::json& a, const nlohmann::json& b, double tolerance = 1e-4) {
  if (!a.is_array() || !b.is_array() || a.size() != b.size()) return false;
  for (const auto& e : a)
    if (!(std::abs(ranked_score_of(b, e["label"]) - e["score"].get<double>()) < tolerance)) return false;
  return true;
}

}  // namespace senti::test
