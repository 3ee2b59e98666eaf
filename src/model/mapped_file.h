// A whole file mapped read-only into memory (RAII). Empty files map to an empty span.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>

namespace senti::model {

class MappedFile {
 public:
  // Throws ModelError naming the file when it cannot be opened or mapped.
  explicit MappedFile(const std::filesystem::path& path);
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const std::byte* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::span<const std::byte> bytes() const { return {data_, size_}; }
  const std::filesystem::path& path() const { return path_; }
  // Takes the pages read so far out of this process's resident set (they stay in the page cache; the
  // next read of one maps it again). For a file whose contents were copied elsewhere.
  void drop_resident_pages() const noexcept;

 private:
  void release() noexcept;
  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace senti::model
