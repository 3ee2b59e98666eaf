#include "model/torch_file_reader.h"

#include <cstring>
#include <map>

#include "model/torch_pickle_reader.h"
#include "model/zip_reader.h"
#include "senti/error.h"

namespace senti::model {
namespace {

using Kind = PyObject::Kind;

// pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2): the legacy format's magic number.
constexpr unsigned char kLegacyMagic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                          0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};

// ('storage', storage_type, key, location, numel[, view_metadata]) -> storage object.
PyRef make_storage(const PyRef& pid, const std::string& where) {
  auto bad = [&](const std::string& what) { return ModelError(where + ": bad persistent id: " + what); };
  if (pid->kind != Kind::kTuple || pid->items.size() < 5) throw bad("expected a storage tuple");
  const auto& it = pid->items;
  if (it[0]->kind != Kind::kStr || it[0]->s != "storage") throw bad("expected the tag 'storage'");
  if (it[1]->kind != Kind::kGlobal) throw bad("storage type is not a class");
  auto s = std::make_shared<PyObject>();
  s->kind = Kind::kStorage;
  s->storage.type_name = it[1]->s;
  if (!torch_storage_type(it[1]->s, s->storage.dtype, s->storage.elem_size)) {
    throw ModelError(where + ": unsupported storage type " + it[1]->s);
  }
  if (it[2]->kind != Kind::kStr) throw bad("storage key is not a string");
  s->storage.key = it[2]->s;
  if (it[4]->kind != Kind::kInt || it[4]->i < 0) throw bad("storage size is not a count");
  s->storage.numel = static_cast<std::size_t>(it[4]->i);
  if (it.size() >= 6 && it[5]->kind != Kind::kNone) {  // legacy view: (view_key, offset, view_size)
    const PyRef& v = it[5];
    if (v->kind != Kind::kTuple || v->items.size() != 3 || v->items[1]->kind != Kind::kInt ||
        v->items[2]->kind != Kind::kInt || v->items[1]->i < 0 || v->items[2]->i < 0) {
      throw bad("malformed storage view");
    }
    s->storage.view_offset = static_cast<std::size_t>(v->items[1]->i);
    s->storage.numel = static_cast<std::size_t>(v->items[2]->i);
  }
  return s;
}

// The top-level dict of name -> tensor, converted to RawTensors after bounds and layout checks.
TensorMap collect(const PyRef& root, const std::string& where) {
  if (root->kind != Kind::kDict) {
    throw ModelError(where + ": expected a state_dict (a dict of tensors), found a " +
                     std::string(kind_name(root->kind)));
  }
  TensorMap out;
  for (const auto& [key, value] : root->dict) {
    if (key->kind != Kind::kStr) continue;
    if (value->kind != Kind::kTensor) continue;  // e.g. nested metadata
    const TorchTensor& t = value->tensor;
    const TorchStorage& s = t.storage->storage;
    RawTensor r;
    r.dtype = s.dtype;
    r.dtype_name = s.type_name;
    r.shape = t.shape;
    const std::size_t numel = r.numel();
    if (s.data == nullptr && numel > 0) {
      throw ModelError(where + ": tensor " + key->s + ": storage " + s.key + " has no data");
    }
    if (numel > 0 && (t.storage_offset > s.numel || numel > s.numel - t.storage_offset)) {
      throw ModelError(where + ": tensor " + key->s + " (shape " + format_shape(t.shape) + ", offset " +
                       std::to_string(t.storage_offset) + ") lies outside its storage of " +
                       std::to_string(s.numel) + " elements");
    }
    std::int64_t expected = 1;
    for (std::size_t d = t.shape.size(); d-- > 0;) {
      if (t.shape[d] != 1 && t.stride[d] != expected) {
        r.contiguous = false;
        std::string strides = "[";
        for (std::size_t k = 0; k < t.stride.size(); ++k) {
          strides += (k ? ", " : "") + std::to_string(t.stride[k]);
        }
        r.layout_problem = "is not contiguous row-major (strides " + strides + "] for shape " +
                           format_shape(t.shape) + "); save it with .contiguous()";
        break;
      }
      expected *= static_cast<std::int64_t>(t.shape[d]);
    }
    r.data = s.data == nullptr ? nullptr : s.data + t.storage_offset * s.elem_size;
    r.nbytes = numel * s.elem_size;
    out[key->s] = std::move(r);
  }
  return out;
}

TensorMap read_zip(const MappedFile& file) {
  const std::string where = file.path().string();
  ZipReader zip(file);
  std::string prefix;
  for (const auto& [name, entry] : zip.entries()) {
    const auto slash = name.find('/');
    if (slash != std::string::npos && name.compare(slash, std::string::npos, "/data.pkl") == 0) {
      prefix = name.substr(0, slash + 1);
      break;
    }
  }
  if (prefix.empty()) {
    throw ModelError(where + ": zip archive without <name>/data.pkl; not a torch.save file");
  }
  if (zip.contains(prefix + "byteorder")) {
    const auto b = zip.read(prefix + "byteorder");
    const std::string order(reinterpret_cast<const char*>(b.data()), b.size());
    if (order != "little") throw ModelError(where + ": byteorder '" + order + "' is not supported");
  }
  const auto pkl = zip.read(prefix + "data.pkl");
  std::map<std::string, PyRef> storages;
  PersistentLoad load = [&](const PyRef& pid) -> PyRef {
    auto s = make_storage(pid, where);
    auto [it, fresh] = storages.emplace(s->storage.key, s);
    if (!fresh) {
      if (it->second->storage.type_name != s->storage.type_name) {
        throw ModelError(where + ": storage " + s->storage.key + " used with two types");
      }
      return it->second;
    }
    const std::string member = prefix + "data/" + s->storage.key;
    if (!zip.contains(member)) throw ModelError(where + ": storage data " + member + " missing from the archive");
    const auto bytes = zip.read(member);
    if (bytes.size() / s->storage.elem_size < s->storage.numel) {
      throw ModelError(where + ": storage " + member + " holds " + std::to_string(bytes.size()) + " bytes, " +
                       std::to_string(s->storage.numel) + " elements of " + s->storage.type_name + " need " +
                       std::to_string(s->storage.numel * s->storage.elem_size));
    }
    s->storage.data = bytes.data();
    s->storage.nbytes = bytes.size();
    return s;
  };
  std::size_t pos = 0;
  PyRef root = run_pickle(pkl, pos, load, where + " (" + prefix + "data.pkl)");
  return collect(root, where);
}

TensorMap read_legacy(const MappedFile& file) {
  const std::string where = file.path().string() + " (legacy torch format)";
  const std::span<const std::byte> bytes = file.bytes();
  std::size_t pos = 0;
  run_pickle(bytes, pos, nullptr, where);  // magic number, checked by the caller
  PyRef protocol = run_pickle(bytes, pos, nullptr, where);
  if (protocol->kind != Kind::kInt || protocol->i != 1001) {
    throw ModelError(where + ": unsupported legacy protocol version");
  }
  PyRef sys_info = run_pickle(bytes, pos, nullptr, where);
  if (sys_info->kind == Kind::kDict) {
    for (const auto& [k, v] : sys_info->dict) {
      if (k->kind == Kind::kStr && k->s == "little_endian" && v->kind == Kind::kBool && v->i == 0) {
        throw ModelError(where + ": big-endian checkpoints are not supported");
      }
    }
  }
  std::map<std::string, std::vector<PyRef>> by_key;  // storages (and views) by root key
  PersistentLoad load = [&](const PyRef& pid) -> PyRef {
    auto s = make_storage(pid, where);
    auto& list = by_key[s->storage.key];
    for (const auto& existing : list) {
      if (existing->storage.view_offset == s->storage.view_offset && existing->storage.numel == s->storage.numel &&
          existing->storage.type_name == s->storage.type_name) {
        return existing;
      }
    }
    list.push_back(s);
    return s;
  };
  PyRef root = run_pickle(bytes, pos, load, where);
  PyRef keys = run_pickle(bytes, pos, nullptr, where);
  if (keys->kind != Kind::kList) throw ModelError(where + ": storage key list missing");
  for (const auto& key : keys->items) {
    if (key->kind != Kind::kStr) throw ModelError(where + ": storage key is not a string");
    auto it = by_key.find(key->s);
    if (it == by_key.end()) throw ModelError(where + ": storage " + key->s + " is not used by any tensor");
    if (bytes.size() - pos < 8) throw ModelError(where + ": truncated: storage " + key->s + " missing");
    std::uint64_t numel = 0;
    for (int k = 7; k >= 0; --k) numel = (numel << 8) | static_cast<std::uint8_t>(bytes[pos + static_cast<std::size_t>(k)]);
    pos += 8;
    const std::size_t elem = it->second.front()->storage.elem_size;
    if (numel > (bytes.size() - pos) / elem) {
      throw ModelError(where + ": truncated: storage " + key->s + " needs " + std::to_string(numel * elem) +
                       " bytes, only " + std::to_string(bytes.size() - pos) + " left");
    }
    const std::byte* data = bytes.data() + pos;
    pos += static_cast<std::size_t>(numel) * elem;
    for (auto& s : it->second) {
      TorchStorage& st = s->storage;
      if (st.elem_size != elem) throw ModelError(where + ": storage " + key->s + " used with two types");
      if (st.view_offset > numel || st.numel > numel - st.view_offset) {
        throw ModelError(where + ": storage view of " + key->s + " out of range");
      }
      st.data = data + st.view_offset * elem;
      st.nbytes = st.numel * elem;
    }
  }
  return collect(root, where);
}

}  // namespace

TensorMap read_torch_file(const MappedFile& file) {
  if (looks_like_zip(file)) return read_zip(file);
  if (file.size() >= sizeof kLegacyMagic && std::memcmp(file.data(), kLegacyMagic, sizeof kLegacyMagic) == 0) {
    return read_legacy(file);
  }
  throw ModelError(file.path().string() +
                   ": not a PyTorch checkpoint (neither a torch.save zip archive nor the legacy format)");
}

}  // namespace senti::model
