#include "model/safetensors_reader.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "senti/error.h"

namespace senti::model {
namespace {

struct DTypeInfo {
  const char* name;
  DType dtype;
  std::size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {"F32", DType::kF32, 4},    {"F16", DType::kF16, 2},   {"BF16", DType::kBF16, 2},
    {"F64", DType::kF64, 8},  {"I64", DType::kOther, 8}, {"I32", DType::kOther, 4},
    {"I16", DType::kOther, 2},  {"I8", DType::kOther, 1},  {"U8", DType::kOther, 1},
    {"U16", DType::kOther, 2},  {"U32", DType::kOther, 4}, {"U64", DType::kOther, 8},
    {"BOOL", DType::kOther, 1}, {"F8_E4M3", DType::kOther, 1}, {"F8_E5M2", DType::kOther, 1},
};

struct Span {
  std::size_t begin, end;
  const std::string* name;
};

}  // namespace

TensorMap read_safetensors(const MappedFile& file) {
  const std::string where = file.path().string();
  auto fail = [&](const std::string& what) -> ModelError { return ModelError(where + ": " + what); };

  if (file.size() < 8) throw fail("not a safetensors file: only " + std::to_string(file.size()) + " bytes");
  std::uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) {
    header_len = (header_len << 8) | static_cast<std::uint8_t>(file.data()[i]);
  }
  if (header_len > file.size() - 8) {
    throw fail("truncated safetensors file: header says " + std::to_string(header_len) +
               " header bytes but the file holds only " + std::to_string(file.size() - 8) +
               " after the length field");
  }
  const auto* header_begin = reinterpret_cast<const char*>(file.data() + 8);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(header_begin, header_begin + header_len);
  } catch (const nlohmann::json::parse_error& e) {
    throw fail(std::string("invalid safetensors header JSON: ") + e.what());
  }
  if (!header.is_object()) throw fail("safetensors header is not a JSON object");

  const std::byte* data = file.data() + 8 + header_len;
  const std::size_t data_size = file.size() - 8 - static_cast<std::size_t>(header_len);

  TensorMap out;
  std::vector<Span> spans;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    // By name: clang 14 cannot capture a structured binding.
    auto bad = [&, &tensor = name](const std::string& what) { return fail("tensor " + tensor + ": " + what); };
    if (!entry.is_object()) throw bad("header entry is not an object");
    auto dt = entry.find("dtype");
    auto sh = entry.find("shape");
    auto off = entry.find("data_offsets");
    if (dt == entry.end() || !dt->is_string()) throw bad("missing or non-string \"dtype\"");
    if (sh == entry.end() || !sh->is_array()) throw bad("missing or non-array \"shape\"");
    if (off == entry.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned()) {
      throw bad("\"data_offsets\" must be two non-negative integers [begin, end]");
    }
    RawTensor t;
    t.dtype_name = dt->get<std::string>();
    std::size_t elem_size = 0;
    for (const auto& info : kDTypes) {
      if (t.dtype_name == info.name) {
        t.dtype = info.dtype;
        elem_size = info.size;
      }
    }
    std::size_t numel = 1;
    for (const auto& d : *sh) {
      if (!d.is_number_unsigned()) throw bad("shape entries must be non-negative integers");
      const auto v = d.get<std::uint64_t>();
      if (v != 0 && numel > std::numeric_limits<std::size_t>::max() / 16 / v) throw bad("shape too large");
      numel *= static_cast<std::size_t>(v);
      t.shape.push_back(static_cast<std::size_t>(v));
    }
    const auto begin = (*off)[0].get<std::uint64_t>();
    const auto end = (*off)[1].get<std::uint64_t>();
    if (begin > end || end > data_size) {
      throw bad("data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                "] out of range: the file holds " + std::to_string(data_size) +
                " data bytes (truncated file?)");
    }
    if (elem_size != 0 && end - begin != numel * elem_size) {
      throw bad("data_offsets span " + std::to_string(end - begin) + " bytes but " + t.dtype_name +
                " shape " + format_shape(t.shape) + " needs " + std::to_string(numel * elem_size));
    }
    t.data = data + begin;
    t.nbytes = static_cast<std::size_t>(end - begin);
    auto [pos, inserted] = out.emplace(name, std::move(t));
    if (!inserted) throw bad("appears twice in the header");
    spans.push_back({static_cast<std::size_t>(begin), static_cast<std::size_t>(end), &pos->first});
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (std::size_t i = 1; i < spans.size(); ++i) {
    const Span& a = spans[i - 1];
    const Span& b = spans[i];
    if (b.begin < a.end && b.begin != b.end && a.begin != a.end) {
      throw fail("tensors " + *a.name + " and " + *b.name + " overlap (bytes [" +
                 std::to_string(a.begin) + ", " + std::to_string(a.end) + ") and [" +
                 std::to_string(b.begin) + ", " + std::to_string(b.end) + "))");
    }
  }
  return out;
}

}  // namespace senti::model
