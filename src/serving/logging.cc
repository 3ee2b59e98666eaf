#include "serving/logging.h"

#include <memory>
#include <stdexcept>
#include <string>

#include <spdlog/sinks/stdout_sinks.h>

namespace senti::serving {
namespace {

bool g_json = false;
std::shared_ptr<spdlog::logger> g_logger;

std::string dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

}  // namespace

void init_logging(std::string_view format, spdlog::level::level_enum level) {
  if (format != "text" && format != "json") throw std::invalid_argument("--log-format must be text or json");
  g_json = format == "json";
  g_logger = std::make_shared<spdlog::logger>("senti", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  // JSON: the pattern opens the object; log_event writes the rest of it (without its own '{').
  g_logger->set_pattern(g_json ? R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l",%v)"
                               : "[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
  g_logger->set_level(level);
  g_logger->flush_on(spdlog::level::info);
}

void log_event(spdlog::level::level_enum level, std::string_view message, const nlohmann::json& fields) {
  if (!g_logger) init_logging("text");
  try {
    if (g_json) {
      nlohmann::json object = {{"message", message}};
      if (fields.is_object())
        for (auto it = fields.begin(); it != fields.end(); ++it) object[it.key()] = it.value();
      const std::string text = dump(object);
      g_logger->log(level, "{}", std::string_view(text).substr(1));
    } else {
      std::string text(message);
      if (fields.is_object()) {
        for (auto it = fields.begin(); it != fields.end(); ++it) {
          text += ' ';
          text += it.key();
          text += '=';
          // Strings go bare unless they hold a space or a quote, then JSON-quoted (key="a b").
          const bool bare = it.value().is_string() &&
                            it.value().get_ref<const std::string&>().find_first_of(" \"=") == std::string::npos &&
                            !it.value().get_ref<const std::string&>().empty();
          text += bare ? it.value().get<std::string>() : dump(it.value());
        }
      }
      g_logger->log(level, "{}", text);
    }
  } catch (...) {
    // Logging never takes the service down.
  }
}

}  // namespace senti::serving
