#include "model/compiled_file.h"

#include <cstring>
#include <fstream>

#include "model/mapped_file.h"
#include "model/json_integers.h"
#include "senti/error.h"

namespace senti::model {
namespace {

constexpr std::size_t kHeaderSize = 40;

std::size_t align_up(std::size_t v) { return (v + kCompiledAlignment - 1) / kCompiledAlignment * kCompiledAlignment; }

template <class T>
T read_le(const std::byte* p) {
  T v{};
  std::memcpy(&v, p, sizeof v);  // x86-64 is little-endian, like the file
  return v;
}

template <class T>
void append_le(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

}  // namespace

struct CompiledFile::Mapping {
  MappedFile file;
};

bool is_compiled_model_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  in.read(magic, sizeof magic);
  return in.gcount() == sizeof magic && std::memcmp(magic, kCompiledMagic, sizeof magic) == 0;
}

void CompiledFileWriter::add(const std::string& name, const void* data, std::size_t size, nlohmann::json info) {
  Entry e{name, std::vector<std::byte>(size), std::move(info)};
  if (size > 0) std::memcpy(e.bytes.data(), data, size);
  entries_.push_back(std::move(e));
}

void CompiledFileWriter::write(const std::filesystem::path& path, nlohmann::json metadata) const {
  nlohmann::json tensors = nlohmann::json::object();
  std::size_t data_size = 0;
  for (const auto& e : entries_) {
    nlohmann::json info = e.info;
    info["offset"] = data_size;
    info["size"] = e.bytes.size();
    tensors[e.name] = std::move(info);
    data_size = align_up(data_size + e.bytes.size());
  }
  metadata["tensors"] = std::move(tensors);
  const std::string json = metadata.dump();
  const std::size_t data_offset = align_up(kHeaderSize + json.size());

  std::string header;
  header.append(kCompiledMagic, sizeof kCompiledMagic);
  append_le<uint32_t>(header, kCompiledFormatVersion);
  append_le<uint32_t>(header, 0);
  append_le<uint64_t>(header, json.size());
  append_le<uint64_t>(header, data_offset);
  append_le<uint64_t>(header, data_size);
  header += json;
  header.resize(data_offset, '\0');

  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw ModelError(path.string() + ": cannot write");
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    std::size_t written = 0;
    static const char zeros[kCompiledAlignment] = {};
    for (const auto& e : entries_) {
      out.write(reinterpret_cast<const char*>(e.bytes.data()), static_cast<std::streamsize>(e.bytes.size()));
      written += e.bytes.size();
      const std::size_t padded = align_up(written);
      out.write(zeros, static_cast<std::streamsize>(padded - written));
      written = padded;
    }
    out.flush();
    if (!out) throw ModelError(path.string() + ": write failed (disk full?)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw ModelError(path.string() + ": cannot rename the written file into place: " + ec.message());
}

CompiledFile::~CompiledFile() = default;

std::size_t CompiledFile::file_size() const { return mapping_->file.size(); }

std::shared_ptr<const CompiledFile> CompiledFile::open(const std::filesystem::path& path) {
  std::shared_ptr<CompiledFile> f(new CompiledFile());
  f->path_ = path;
  f->mapping_ = std::make_unique<Mapping>(Mapping{MappedFile(path)});
  const std::byte* base = f->mapping_->file.data();
  const std::size_t size = f->mapping_->file.size();
  const std::string name = path.string();
  if (size < sizeof kCompiledMagic || std::memcmp(base, kCompiledMagic, sizeof kCompiledMagic) != 0) {
    throw ModelError(name + ": not a senti compiled model (no SENTIMDL header)");
  }
  if (size < kHeaderSize) {
    throw ModelError(name + ": truncated compiled model (" + std::to_string(size) + " bytes, shorter than its header)");
  }
  const auto version = read_le<uint32_t>(base + 8);
  if (version != kCompiledFormatVersion) {
    throw ModelError(name + ": compiled-model format version " + std::to_string(version) + ", but this senti reads version " +
                     std::to_string(kCompiledFormatVersion) + "; recompile it with this senti (senti compile)");
  }
  const auto json_size = read_le<uint64_t>(base + 16);
  const auto data_offset = read_le<uint64_t>(base + 24);
  const auto data_size = read_le<uint64_t>(base + 32);
  if (json_size > size - kHeaderSize || data_offset < kHeaderSize + json_size || data_offset % kCompiledAlignment != 0 ||
      data_offset > size || data_size > size - data_offset) {
    throw ModelError(name + ": truncated or corrupt compiled model (header says metadata " + std::to_string(json_size) +
                     " bytes, data " + std::to_string(data_size) + " bytes at " + std::to_string(data_offset) +
                     "; the file has " + std::to_string(size) + " bytes)");
  }
  try {
    f->metadata_ = nlohmann::json::parse(reinterpret_cast<const char*>(base + kHeaderSize),
                                         reinterpret_cast<const char*>(base + kHeaderSize + json_size));
    if (!f->metadata_.is_object()) throw ModelError("metadata is not a JSON object");
    for (const auto& [tensor, info] : f->metadata_.at("tensors").items()) {
      const auto offset = json_integer<uint64_t>(info.at("offset"), name + ": tensor " + tensor + " offset");
      const auto bytes = json_integer<uint64_t>(info.at("size"), name + ": tensor " + tensor + " size");
      if (offset % kCompiledAlignment != 0 || offset > data_size || bytes > data_size - offset) {
        throw ModelError("tensor " + tensor + " (" + std::to_string(bytes) + " bytes at " + std::to_string(offset) +
                         ") lies outside the " + std::to_string(data_size) + "-byte data section");
      }
      f->tensors_[tensor] = Span{static_cast<std::size_t>(data_offset + offset), static_cast<std::size_t>(bytes)};
    }
  } catch (const nlohmann::json::exception& e) {
    throw ModelError(name + ": corrupt compiled-model metadata: " + e.what());
  } catch (const ModelError& e) {
    throw ModelError(name + ": corrupt compiled model: " + e.what());
  }
  return f;
}

std::span<const std::byte> CompiledFile::tensor(const std::string& name, std::size_t expected_size) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) throw ModelError(path_.string() + ": compiled model has no tensor " + name);
  if (expected_size != 0 && it->second.size != expected_size) {
    throw ModelError(path_.string() + ": tensor " + name + " has " + std::to_string(it->second.size) +
                     " bytes, expected " + std::to_string(expected_size));
  }
  return {mapping_->file.data() + it->second.offset, it->second.size};
}

const nlohmann::json& CompiledFile::tensor_info(const std::string& name) const {
  tensor(name);  // existence check with a clear message
  return metadata_.at("tensors").at(name);
}

}  // namespace senti::model
