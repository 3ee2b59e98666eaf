// The container of a compiled model (senti compile): one self-contained, versioned, mmap-able file.
//
//   offset 0   magic "SENTIMDL" (8 bytes)
//          8   format version, u32 little-endian
//         12   reserved, u32 (0)
//         16   metadata length in bytes, u64
//         24   data offset (64-byte aligned), u64
//         32   data length in bytes, u64
//         40   metadata: UTF-8 JSON (config, tokenizer, vocab, precision, target, tensor table)
//   data_offset  tensor bytes, each tensor 64-byte aligned relative to the file start
//
// The tensor table is metadata["tensors"]: {name: {"offset", "size", ...}} with offsets relative to
// the data section. Reading validates every offset and length against the file size, so a
// truncated or corrupted file is a ModelError, never an out-of-bounds read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace senti::model {

inline constexpr char kCompiledMagic[8] = {'S', 'E', 'N', 'T', 'I', 'M', 'D', 'L'};
inline constexpr uint32_t kCompiledFormatVersion = 1;
inline constexpr std::size_t kCompiledAlignment = 64;

// True when the file starts with the compiled-model magic (false for folders and other files).
bool is_compiled_model_file(const std::filesystem::path& path);

class CompiledFileWriter {
 public:
  // Adds a tensor's bytes (copied); `info` is stored in the tensor table next to offset and size.
  void add(const std::string& name, const void* data, std::size_t size, nlohmann::json info = nlohmann::json::object());
  // metadata must be an object; "tensors" is filled in here. Throws ModelError on I/O errors.
  void write(const std::filesystem::path& path, nlohmann::json metadata) const;

 private:
  struct Entry {
    std::string name;
    std::vector<std::byte> bytes;
    nlohmann::json info;
  };
  std::vector<Entry> entries_;
};

class CompiledFile {
 public:
  // Maps and validates the header, metadata and tensor table. Throws ModelError naming the file:
  // not a compiled model, other format version ("format version 2, this senti reads version 1"),
  // truncated, corrupt metadata, tensor outside the file.
  static std::shared_ptr<const CompiledFile> open(const std::filesystem::path& path);

  const nlohmann::json& metadata() const { return metadata_; }
  const std::filesystem::path& path() const { return path_; }
  std::size_t file_size() const;

  // The bytes of a tensor, checked to be `expected_size` bytes when that is non-zero. Throws
  // ModelError when missing or of another size.
  std::span<const std::byte> tensor(const std::string& name, std::size_t expected_size = 0) const;
  const nlohmann::json& tensor_info(const std::string& name) const;

  ~CompiledFile();

 private:
  CompiledFile() = default;
  struct Mapping;
  std::unique_ptr<Mapping> mapping_;
  std::filesystem::path path_;
  nlohmann::json metadata_;
  struct Span {
    std::size_t offset = 0, size = 0;
  };
  std::map<std::string, Span> tensors_;
};

}  // namespace senti::model
