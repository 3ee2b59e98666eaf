// A small pickle virtual machine: the subset of opcodes and globals that torch.save uses for a
// state_dict (protocol 2, also the protocol 4/5 framing opcodes). Anything else is refused with a
// ModelError naming the opcode or global, so arbitrary pickles are never executed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "model/raw_tensor.h"

namespace senti::model {

struct PyObject;
using PyRef = std::shared_ptr<PyObject>;

// A torch storage: typed, holding `numel` elements. `data` is filled in when the bytes are known
// (at once for zip archives, after the pickle for the legacy format).
struct TorchStorage {
  DType dtype = DType::kOther;
  std::string type_name;   // "torch.FloatStorage"
  std::size_t elem_size = 0;
  std::string key;         // name of the bytes in the archive
  std::size_t numel = 0;
  std::size_t view_offset = 0;  // legacy views: element offset into the storage `key`
  const std::byte* data = nullptr;
  std::size_t nbytes = 0;
};

struct TorchTensor {
  PyRef storage;  // kind kStorage
  std::size_t storage_offset = 0;
  std::vector<std::size_t> shape;
  std::vector<std::int64_t> stride;
};

struct PyObject {
  enum class Kind { kNone, kBool, kInt, kBigInt, kFloat, kStr, kTuple, kList, kDict, kGlobal, kStorage, kTensor };
  Kind kind = Kind::kNone;
  std::int64_t i = 0;                    // kBool, kInt
  double f = 0;                          // kFloat
  std::string s;                         // kStr; kBigInt: little-endian two's complement bytes;
                                         // kGlobal: "module.name"
  std::vector<PyRef> items;              // kTuple, kList
  std::vector<std::pair<PyRef, PyRef>> dict;  // kDict, in insertion order
  TorchStorage storage;                  // kStorage
  TorchTensor tensor;                    // kTensor
};

const char* kind_name(PyObject::Kind kind);

// Called for BINPERSID with the persistent id; returns the object it stands for.
using PersistentLoad = std::function<PyRef(const PyRef& pid)>;

// Runs one pickle starting at `pos` up to and including its STOP; advances `pos` past it.
// `where` names the file in error messages.
PyRef run_pickle(std::span<const std::byte> bytes, std::size_t& pos, const PersistentLoad& persistent_load,
                 const std::string& where);

// Storage class global ("torch.FloatStorage") -> dtype and element size; false if unknown.
bool torch_storage_type(const std::string& global, DType& dtype, std::size_t& elem_size);

}  // namespace senti::model
