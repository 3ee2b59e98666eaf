#include "model/zip_reader.h"

#include <cstdint>

#include "senti/error.h"

namespace senti::model {
namespace {

constexpr std::uint32_t kLocalHeaderSig = 0x04034b50;
constexpr std::uint32_t kCentralHeaderSig = 0x02014b50;
constexpr std::uint32_t kEndSig = 0x06054b50;
constexpr std::uint32_t kZip64EndSig = 0x06064b50;
constexpr std::uint32_t kZip64LocatorSig = 0x07064b50;

std::uint64_t le(const std::byte* p, int n) {
  std::uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(p[i]);
  return v;
}

}  // namespace

bool looks_like_zip(const MappedFile& file) {
  return file.size() >= 4 && le(file.data(), 4) == kLocalHeaderSig;
}

ZipReader::ZipReader(const MappedFile& file) : file_(file) {
  const std::string where = file.path().string();
  auto fail = [&](const std::string& what) { return ModelError(where + ": " + what); };
  const std::byte* base = file.data();
  const std::size_t size = file.size();
  auto need = [&](std::uint64_t offset, std::uint64_t len, const char* what) {
    if (offset > size || len > size - offset) {
      throw fail(std::string("truncated zip archive: ") + what + " lies beyond the end of the file");
    }
  };

  // End of central directory: 22 bytes plus a comment of up to 65535 bytes, at the very end.
  if (size < 22) throw fail("not a zip archive (too short)");
  std::size_t eocd = size;
  const std::size_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
  for (std::size_t pos = size - 22 + 1; pos-- > lowest;) {
    if (le(base + pos, 4) == kEndSig) {
      eocd = pos;
      break;
    }
  }
  if (eocd == size) throw fail("truncated or damaged zip archive: end of central directory not found");

  std::uint64_t count = le(base + eocd + 10, 2);
  std::uint64_t cd_size = le(base + eocd + 12, 4);
  std::uint64_t cd_offset = le(base + eocd + 16, 4);
  if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    if (eocd < 20 || le(base + eocd - 20, 4) != kZip64LocatorSig) {
      throw fail("damaged zip64 archive: zip64 end of central directory locator not found");
    }
    const std::uint64_t z64 = le(base + eocd - 20 + 8, 8);
    need(z64, 56, "zip64 end of central directory");
    if (le(base + z64, 4) != kZip64EndSig) throw fail("damaged zip64 end of central directory record");
    count = le(base + z64 + 32, 8);
    cd_size = le(base + z64 + 40, 8);
    cd_offset = le(base + z64 + 48, 8);
  }
  need(cd_offset, cd_size, "central directory");

  std::uint64_t pos = cd_offset;
  const std::uint64_t cd_end = cd_offset + cd_size;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (pos + 46 > cd_end) throw fail("damaged zip central directory (entry " + std::to_string(i) + ")");
    if (le(base + pos, 4) != kCentralHeaderSig) {
      throw fail("damaged zip central directory: bad signature at entry " + std::to_string(i));
    }
    Entry e;
    e.method = static_cast<unsigned>(le(base + pos + 10, 2));
    std::uint64_t csize = le(base + pos + 20, 4);
    std::uint64_t usize = le(base + pos + 24, 4);
    const std::uint64_t name_len = le(base + pos + 28, 2);
    const std::uint64_t extra_len = le(base + pos + 30, 2);
    const std::uint64_t comment_len = le(base + pos + 32, 2);
    std::uint64_t header = le(base + pos + 42, 4);
    if (pos + 46 + name_len + extra_len + comment_len > cd_end) {
      throw fail("damaged zip central directory (entry " + std::to_string(i) + " overruns it)");
    }
    std::string name(reinterpret_cast<const char*>(base + pos + 46), static_cast<std::size_t>(name_len));
    // zip64 extended information: only the fields whose 32-bit value is saturated, in this order.
    const std::byte* extra = base + pos + 46 + name_len;
    for (std::uint64_t x = 0; x + 4 <= extra_len;) {
      const std::uint64_t id = le(extra + x, 2);
      const std::uint64_t len = le(extra + x + 2, 2);
      if (x + 4 + len > extra_len) break;
      if (id == 0x0001) {
        std::uint64_t f = x + 4;
        auto take = [&](std::uint64_t& field) {
          if (field != 0xFFFFFFFF) return;
          if (f + 8 > x + 4 + len) throw fail("damaged zip64 extra field for " + name);
          field = le(extra + f, 8);
          f += 8;
        };
        take(usize);
        take(csize);
        take(header);
      }
      x += 4 + len;
    }
    pos += 46 + name_len + extra_len + comment_len;

    need(header, 30, ("local header of " + name).c_str());
    if (le(base + header, 4) != kLocalHeaderSig) throw fail("damaged zip local header for " + name);
    const std::uint64_t local_name = le(base + header + 26, 2);
    const std::uint64_t local_extra = le(base + header + 28, 2);
    const std::uint64_t data = header + 30 + local_name + local_extra;
    need(data, csize, ("data of " + name).c_str());
    e.header_offset = static_cast<std::size_t>(header);
    e.data_offset = static_cast<std::size_t>(data);
    e.size = static_cast<std::size_t>(usize);
    e.compressed_size = static_cast<std::size_t>(csize);
    entries_[name] = e;
  }
}

std::span<const std::byte> ZipReader::read(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    throw ModelError(file_.path().string() + ": zip archive has no member " + name);
  }
  const Entry& e = it->second;
  if (e.method != 0) {
    throw ModelError(file_.path().string() + ": zip member " + name + " is compressed (method " +
                     std::to_string(e.method) +
                     "); only stored (uncompressed) members are supported, as torch.save writes them");
  }
  if (e.compressed_size != e.size) {
    throw ModelError(file_.path().string() + ": zip member " + name + " is stored but its sizes differ");
  }
  return {file_.data() + e.data_offset, e.size};
}

}  // namespace senti::model
