#include "cli/default_model.h"

#include <unistd.h>

#include <cstdlib>
#include <system_error>
#include <vector>

#include "senti/error.h"

namespace senti::cli {
namespace {

std::filesystem::path executable_dir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : exe.parent_path();
}

}  // namespace

std::filesystem::path default_model_path() {
  if (const char* env = std::getenv("SENTI_MODEL"); env != nullptr && *env != '\0') return env;
  std::vector<std::filesystem::path> candidates;
  if (const auto dir = executable_dir(); !dir.empty())
    candidates.push_back(dir.parent_path() / "share" / "senti" / "models" / kDefaultModelName);
  candidates.push_back(std::filesystem::path(SENTI_INSTALL_MODELS_DIR) / kDefaultModelName);
  candidates.push_back(std::filesystem::path(SENTI_SOURCE_MODELS_DIR) / kDefaultModelName);
  std::string looked;
  for (const auto& candidate : candidates) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate / "config.json", ec)) return candidate;
    looked += "\n  " + candidate.string();
  }
  throw ModelError("no --model given and the default model was not found; looked in:" + looked +
                   "\nset SENTI_MODEL or pass --model DIR");
}

std::filesystem::path resolve_model(const std::string& option) {
  return option.empty() ? default_model_path() : std::filesystem::path(option);
}

}  // namespace senti::cli
