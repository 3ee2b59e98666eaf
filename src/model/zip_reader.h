// Lists the members of a PKZIP archive (as torch.save writes them) from its central directory,
// including zip64 records. Only STORED (uncompressed) members can be read: each is handed out as a
// view into the mapped file, so tensor data can be used in place.
#pragma once

#include <cstddef>
#include <map>
#include <span>
#include <string>

#include "model/mapped_file.h"

namespace senti::model {

class ZipReader {
 public:
  // Parses the central directory. Throws ModelError naming the file when it is not a zip archive
  // or is truncated.
  explicit ZipReader(const MappedFile& file);

  struct Entry {
    std::size_t header_offset = 0;  // local file header
    std::size_t data_offset = 0;    // first byte of the stored data (after the local header)
    std::size_t size = 0;           // uncompressed size
    std::size_t compressed_size = 0;
    unsigned method = 0;            // 0 = stored
  };

  const std::map<std::string, Entry>& entries() const { return entries_; }
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }

  // The bytes of a member. Throws ModelError if it is missing or compressed.
  std::span<const std::byte> read(const std::string& name) const;

 private:
  const MappedFile& file_;
  std::map<std::string, Entry> entries_;
};

// True if the file starts with a zip local file header signature.
bool looks_like_zip(const MappedFile& file);

}  // namespace senti::model
