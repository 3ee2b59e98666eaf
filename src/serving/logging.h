// Service logs on stderr through spdlog: "text" (human) or "json" (one JSON object per line).
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace senti::serving {

// Throws std::invalid_argument on an unknown format. level: the least severe level written.
void init_logging(std::string_view format, spdlog::level::level_enum level = spdlog::level::info);

// message plus structured fields: "message key=value ..." in text, merged into the object in JSON.
void log_event(spdlog::level::level_enum level, std::string_view message,
               const nlohmann::json& fields = nlohmann::json::object());

}  // namespace senti::serving
