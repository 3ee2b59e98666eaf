// Helpers shared by the libFuzzer targets: where the committed test data is, a private scratch
// folder, and how a target reports a broken invariant (abort, so libFuzzer saves the input).
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace senti::fuzz {

inline std::filesystem::path source_dir() { return SENTI_SOURCE_DIR; }
inline std::filesystem::path tiny_model_dir() { return source_dir() / "tests/data/models/tiny"; }
inline std::filesystem::path loader_fixtures_dir() { return source_dir() / "tests/data/loader_fixtures"; }

// A fresh folder under $TMPDIR (else /tmp) for this process, removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/senti-fuzz-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return std::filesystem::path(pattern);
  }();
  return dir;
}

inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::abort();
  }
}

// A broken invariant: say which, then abort so libFuzzer keeps the input as a crash.
[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "\nINVARIANT BROKEN: %s\n", what.c_str());
  std::abort();
}

}  // namespace senti::fuzz
