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

// The first of `candidates` for which `exists` holds; else throws what `error` makes of the list.
template <typename Exists, typename Error>
std::filesystem::path first_existing(const std::vector<std::filesystem::path>& candidates, Exists exists, Error error) {
  std::string looked;
  for (const auto& candidate : candidates) {
    std::error_code ec;
    if (exists(candidate, ec)) return candidate;
    looked += "\n  " + candidate.string();
  }
  throw error(looked);
}

// <prefix>/share/senti/<relative> beside the running binary, then under the configured install prefix,
// then in the source tree.
std::vector<std::filesystem::path> data_candidates(const std::filesystem::path& relative,
                                                   const std::filesystem::path& install_dir,
                                                   const std::filesystem::path& source_dir) {
  std::vector<std::filesystem::path> candidates;
  if (const auto dir = executable_dir(); !dir.empty())
    candidates.push_back(dir.parent_path() / "share" / "senti" / relative);
  candidates.push_back(install_dir / relative.filename());
  candidates.push_back(source_dir / relative.filename());
  return candidates;
}

}  // namespace

std::filesystem::path default_model_path() {
  if (const char* env = std::getenv("SENTI_MODEL"); env != nullptr && *env != '\0') return env;
  return first_existing(
      data_candidates(std::filesystem::path("models") / kDefaultModelName, SENTI_INSTALL_MODELS_DIR,
                      SENTI_SOURCE_MODELS_DIR),
      [](const std::filesystem::path& p, std::error_code& ec) {
        return std::filesystem::is_regular_file(p / "config.json", ec);
      },
      [](const std::string& looked) {
        return ModelError("no --model given and the default model was not found; looked in:" + looked +
                          "\nset SENTI_MODEL or pass --model DIR");
      });
}

std::filesystem::path default_vocab_path() {
  return first_existing(
      data_candidates(std::filesystem::path("vocab") / kDefaultVocabName, SENTI_INSTALL_VOCAB_DIR,
                      SENTI_SOURCE_VOCAB_DIR),
      [](const std::filesystem::path& p, std::error_code& ec) { return std::filesystem::is_regular_file(p, ec); },
      [](const std::string& looked) {
        return InvalidInputError("the bert-base-chinese vocab was not found; looked in:" + looked +
                                 "\npass --vocab FILE");
      });
}

std::filesystem::path resolve_model(const std::string& option) {
  return option.empty() ? default_model_path() : std::filesystem::path(option);
}

}  // namespace senti::cli
