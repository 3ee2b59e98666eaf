// Helpers shared by the golden tests: reading tests/data/goldens, the committed dev set, temp folders.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace senti::test {

std::filesystem::path test_data_dir();    // tests/data
std::filesystem::path vocab_file();       // data/vocab/bert-base-chinese-vocab.txt
nlohmann::json read_json(const std::filesystem::path& path);
std::string read_bytes(const std::filesystem::path& path);

// Texts of data/sentiment/dev.jsonl, by 0-based line.
const std::vector<std::string>& dev_texts();
// The text a golden record was computed from: "text", or its "dev_lines" joined with "".
std::string record_text(const nlohmann::json& record);

// A fresh folder under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Copies a model folder's files except the named ones (e.g. to load pytorch_model.bin without the
// preferred model.safetensors next to it).
void copy_model_without(const std::filesystem::path& from, const std::filesystem::path& to,
                        const std::vector<std::string>& skip);

std::string sha256_hex(const std::string& bytes);

// Index of the largest value (the predicted label of a logit vector).
std::size_t argmax(const std::vector<float>& v);
// max_i |a[i] - b[i]| over a's elements (b at least as long).
float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace senti::test
