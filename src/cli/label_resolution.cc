#include "cli/label_resolution.h"

#include <algorithm>
#include <cctype>

#include "senti/error.h"
#include "senti/text_rules.h"

namespace senti::cli {

std::size_t resolve_label(const nlohmann::json& value, const BertConfig& config, const std::string& where) {
  const std::size_t n = config.num_labels();
  if (value.is_number_integer()) {
    const auto v = value.get<long long>();
    if (v < 0 || static_cast<unsigned long long>(v) >= n)
      throw InvalidInputError(where + "label " + std::to_string(v) + " out of range (the model has " +
                              std::to_string(n) + " labels)");
    return static_cast<std::size_t>(v);
  }
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    for (std::size_t i = 0; i < n; ++i)
      if (s == config.labels[i] || (i < config.label_display.size() && s == config.label_display[i])) return i;
    if (!s.empty() && s.size() < 6 && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; }) &&
        static_cast<std::size_t>(std::stoi(s)) < n)
      return static_cast<std::size_t>(std::stoi(s));
    std::string known;
    for (std::size_t i = 0; i < n; ++i) {
      known += (known.empty() ? "" : ", ") + std::to_string(i) + "/" + config.labels[i];
      if (i < config.label_display.size() && config.label_display[i] != config.labels[i])
        known += "/" + config.label_display[i];
    }
    throw InvalidInputError(where + "unknown label \"" + excerpt(s) + "\" (the model's labels: " + known + ")");
  }
  throw InvalidInputError(where + "label must be an integer id or a label name, got " +
                          excerpt(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

}  // namespace senti::cli
