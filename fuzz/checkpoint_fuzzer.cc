// Hugging Face checkpoint folders with one file replaced by the input: model.safetensors (the
// safetensors reader), pytorch_model.bin (zip and legacy torch.save formats, the pickle machine) or
// config.json; the other files are the loader fixtures of tests/data. Loaded as every command loads
// a model (Classifier::load), then run once. Invariant: only senti errors, no crash.
//   input: byte 0 picks the file (0 safetensors, 1 pytorch_model.bin, 2 config.json); the rest is it.
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string_view>

#include "fuzz_support.h"
#include "model_fixture.h"

namespace {

namespace fs = std::filesystem;
constexpr std::array<const char*, 3> kReplaced = {"model.safetensors", "pytorch_model.bin", "config.json"};

// One folder per choice, holding the fixture files except the one the input replaces.
const std::array<fs::path, 3>& folders() {
  static const std::array<fs::path, 3> dirs = [] {
    std::array<fs::path, 3> out;
    const fs::path fixtures = senti::fuzz::loader_fixtures_dir();
    for (std::size_t i = 0; i < out.size(); ++i) {
      out[i] = senti::fuzz::scratch_dir() / ("checkpoint" + std::to_string(i));
      fs::create_directories(out[i]);
      fs::copy_file(fixtures / "vocab.txt", out[i] / "vocab.txt");
      if (i != 2) fs::copy_file(fixtures / "config.json", out[i] / "config.json");
      if (i == 2) fs::copy_file(fixtures / "model.safetensors", out[i] / "model.safetensors");
    }
    return out;
  }();
  return dirs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t choice = data[0] % kReplaced.size();
  const fs::path& dir = folders()[choice];
  senti::fuzz::write_file(dir / kReplaced[choice], std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  senti::fuzz::load_and_run(dir);
  return 0;
}
