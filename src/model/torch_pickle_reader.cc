#include "model/torch_pickle_reader.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "senti/error.h"

namespace senti::model {
namespace {

using Kind = PyObject::Kind;

struct StorageType {
  const char* name;
  DType dtype;
  std::size_t size;
};

constexpr StorageType kStorageTypes[] = {
    {"torch.FloatStorage", DType::kF32, 4},   {"torch.HalfStorage", DType::kF16, 2},
    {"torch.BFloat16Storage", DType::kBF16, 2}, {"torch.DoubleStorage", DType::kF64, 8},
    {"torch.LongStorage", DType::kOther, 8},  {"torch.IntStorage", DType::kOther, 4},
    {"torch.ShortStorage", DType::kOther, 2}, {"torch.CharStorage", DType::kOther, 1},
    {"torch.ByteStorage", DType::kOther, 1},  {"torch.BoolStorage", DType::kOther, 1},
};

// Globals a state_dict pickle may name; nothing is ever imported or called for real.
constexpr const char* kAllowedGlobals[] = {
    "collections.OrderedDict",     "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_parameter", "torch.float32", "torch.float16", "torch.bfloat16",
    "torch.float64", "torch.int64", "torch.int32", "torch.int16", "torch.int8", "torch.uint8", "torch.bool",
};

PyRef make(Kind kind) {
  auto p = std::make_shared<PyObject>();
  p->kind = kind;
  return p;
}

PyRef make_int(std::int64_t v) {
  auto p = make(Kind::kInt);
  p->i = v;
  return p;
}

// Deeper than any state_dict pickle (dict -> tensor -> argument tuple -> size tuple) nests its objects.
constexpr std::uint32_t kMaxNesting = 64;

class Machine {
 public:
  Machine(std::span<const std::byte> bytes, std::size_t& pos, const PersistentLoad& persistent_load,
          const std::string& where)
      : bytes_(bytes), pos_(pos), persistent_load_(persistent_load), where_(where) {}
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;
  // A pickle that failed may hold reference cycles (a list appended to itself through the memo) and
  // chains nested a million deep: shared_ptr would leak the first and overflow the stack freeing the
  // second. So every container is emptied into one flat list first, and that list is freed.
  ~Machine() {
    if (checked_) return;
    std::vector<PyRef> flat;
    for (const auto& weak : containers_) {
      const PyRef c = weak.lock();
      if (!c) continue;
      for (auto& item : c->items) flat.push_back(std::move(item));
      for (auto& [key, value] : c->dict) {
        flat.push_back(std::move(key));
        flat.push_back(std::move(value));
      }
      c->items.clear();
      c->dict.clear();
    }
  }

  PyRef run();

 private:
  PyRef make_container(Kind kind) {
    PyRef c = make(kind);
    containers_.push_back(c);
    return c;
  }
  // Before the objects leave the machine: no cycle and no nesting past kMaxNesting anywhere among
  // them (what is returned and what the memo drops), so freeing them is finite and shallow.
  // Iterative depth-first search with colours; heights are computed on the way back.
  void check_object_graph() {
    struct Seen {
      bool done = false;
      std::uint32_t height = 0;
    };
    struct Frame {
      const PyObject* obj;
      std::size_t next = 0;
      std::uint32_t below = 0;  // tallest child so far
    };
    const auto child = [](const PyObject* o, std::size_t k) -> const PyObject* {
      if (k < o->items.size()) return o->items[k].get();
      k -= o->items.size();
      if (k < 2 * o->dict.size()) return (k % 2 == 0 ? o->dict[k / 2].first : o->dict[k / 2].second).get();
      k -= 2 * o->dict.size();
      if (k == 0 && o->tensor.storage) return o->tensor.storage.get();
      return nullptr;
    };
    std::unordered_map<const PyObject*, Seen> seen;
    std::vector<Frame> path;
    for (const auto& weak : containers_) {
      const PyRef start = weak.lock();
      if (!start || seen.count(start.get()) != 0) continue;
      seen[start.get()];
      path.push_back({start.get()});
      while (!path.empty()) {
        const PyObject* c = child(path.back().obj, path.back().next++);
        if (c == nullptr) {
          const std::uint32_t height = path.back().below + 1;
          if (height > kMaxNesting) {
            throw fail("objects nested deeper than " + std::to_string(kMaxNesting) + " levels (not a state_dict)");
          }
          seen[path.back().obj] = {true, height};
          path.pop_back();
          if (!path.empty()) path.back().below = std::max(path.back().below, height);
          continue;
        }
        const auto [it, fresh] = seen.try_emplace(c);
        if (fresh) {
          path.push_back({c});
        } else if (!it->second.done) {
          throw fail("an object contains itself (a reference cycle; not a state_dict)");
        } else {
          path.back().below = std::max(path.back().below, it->second.height);
        }
      }
    }
    checked_ = true;
  }

  ModelError fail(const std::string& what) const {
    return ModelError(where_ + ": cannot read pickle at byte " + std::to_string(op_pos_) + ": " + what);
  }
  const std::byte* take(std::size_t n) {
    if (n > bytes_.size() || pos_ > bytes_.size() - n) throw fail("truncated pickle data");
    const std::byte* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }
  std::uint64_t take_le(std::size_t n) {
    const std::byte* p = take(n);
    std::uint64_t v = 0;
    for (std::size_t k = n; k-- > 0;) v = (v << 8) | static_cast<std::uint8_t>(p[k]);
    return v;
  }
  std::string take_line() {
    std::string s;
    while (true) {
      const char c = static_cast<char>(*take(1));
      if (c == '\n') return s;
      s.push_back(c);
      if (s.size() > 256) throw fail("overlong text line in GLOBAL");
    }
  }
  PyRef pop() {
    if (stack_.size() <= floor()) throw fail("stack underflow");
    PyRef v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  PyRef& top() {
    if (stack_.size() <= floor()) throw fail("stack underflow");
    return stack_.back();
  }
  std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<PyRef> pop_mark() {
    if (marks_.empty()) throw fail("MARK missing");
    const std::size_t m = marks_.back();
    marks_.pop_back();
    std::vector<PyRef> items(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(m)),
                             std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }
  void push_string(std::size_t n) {
    auto s = make(Kind::kStr);
    const std::byte* p = take(n);
    s->s.assign(reinterpret_cast<const char*>(p), n);
    stack_.push_back(std::move(s));
  }
  void push_global(const std::string& module, const std::string& name) {
    const std::string full = module + "." + name;
    bool ok = false;
    for (const auto* g : kAllowedGlobals) ok = ok || full == g;
    DType dt{};
    std::size_t es = 0;
    ok = ok || torch_storage_type(full, dt, es);
    if (!ok) throw fail("unsupported global " + full + " (not part of a plain torch state_dict)");
    auto g = make(Kind::kGlobal);
    g->s = full;
    stack_.push_back(std::move(g));
  }
  void memo_put(std::uint64_t idx) { memo_[idx] = top(); }
  void memo_get(std::uint64_t idx) {
    auto it = memo_.find(idx);
    if (it == memo_.end()) throw fail("memo entry " + std::to_string(idx) + " missing");
    stack_.push_back(it->second);
  }
  void set_items(PyRef& dict, std::vector<PyRef>& kv) {
    if (dict->kind != Kind::kDict) throw fail(std::string("SETITEM(S) on a ") + kind_name(dict->kind));
    if (kv.size() % 2 != 0) throw fail("SETITEMS with an odd number of items");
    for (std::size_t k = 0; k < kv.size(); k += 2) {
      bool replaced = false;
      if (kv[k]->kind == Kind::kStr) {
        for (auto& [key, value] : dict->dict) {
          if (key->kind == Kind::kStr && key->s == kv[k]->s) {
            value = kv[k + 1];
            replaced = true;
          }
        }
      }
      if (!replaced) dict->dict.emplace_back(kv[k], kv[k + 1]);
    }
  }
  PyRef reduce(const PyRef& callable, const PyRef& args);
  PyRef rebuild_tensor(const std::vector<PyRef>& args);

  std::span<const std::byte> bytes_;
  std::size_t& pos_;
  std::size_t op_pos_ = 0;
  const PersistentLoad& persistent_load_;
  const std::string& where_;
  std::vector<PyRef> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, PyRef> memo_;
  std::vector<std::weak_ptr<PyObject>> containers_;  // every tuple, list, dict and tensor made
  bool checked_ = false;                             // check_object_graph passed
};

std::vector<std::size_t> int_tuple(const PyRef& t, const char* what, const ModelError& err_proto,
                                   std::vector<std::int64_t>* signed_out) {
  if (t->kind != Kind::kTuple && t->kind != Kind::kList) throw err_proto;
  std::vector<std::size_t> out;
  for (const auto& v : t->items) {
    if (v->kind != Kind::kInt) throw err_proto;
    if (signed_out != nullptr) {
      signed_out->push_back(v->i);
    } else {
      if (v->i < 0) throw err_proto;
      out.push_back(static_cast<std::size_t>(v->i));
    }
  }
  (void)what;
  return out;
}

PyRef Machine::rebuild_tensor(const std::vector<PyRef>& args) {
  if (args.size() < 4) throw fail("_rebuild_tensor called with " + std::to_string(args.size()) + " arguments");
  if (args[0]->kind != Kind::kStorage) {
    throw fail(std::string("_rebuild_tensor expects a storage, got ") + kind_name(args[0]->kind));
  }
  if (args[1]->kind != Kind::kInt || args[1]->i < 0) throw fail("_rebuild_tensor: bad storage offset");
  auto t = make_container(Kind::kTensor);
  t->tensor.storage = args[0];
  t->tensor.storage_offset = static_cast<std::size_t>(args[1]->i);
  const ModelError bad_size = fail("_rebuild_tensor: size must be a tuple of non-negative integers");
  const ModelError bad_stride = fail("_rebuild_tensor: stride must be a tuple of integers");
  t->tensor.shape = int_tuple(args[2], "size", bad_size, nullptr);
  int_tuple(args[3], "stride", bad_stride, &t->tensor.stride);
  if (t->tensor.stride.size() != t->tensor.shape.size()) throw fail("_rebuild_tensor: size and stride differ in rank");
  return t;
}

PyRef Machine::reduce(const PyRef& callable, const PyRef& args) {
  if (callable->kind != Kind::kGlobal) throw fail(std::string("REDUCE on a ") + kind_name(callable->kind));
  if (args->kind != Kind::kTuple) throw fail("REDUCE arguments are not a tuple");
  const std::string& f = callable->s;
  if (f == "collections.OrderedDict") {
    auto d = make_container(Kind::kDict);
    return d;
  }
  if (f == "torch._utils._rebuild_tensor_v2" || f == "torch._utils._rebuild_tensor") {
    return rebuild_tensor(args->items);
  }
  if (f == "torch._utils._rebuild_parameter") {
    if (args->items.empty() || args->items[0]->kind != Kind::kTensor) {
      throw fail("_rebuild_parameter expects a tensor");
    }
    return args->items[0];
  }
  throw fail("calling " + f + " is not supported");
}

PyRef Machine::run() {
  while (true) {
    op_pos_ = pos_;
    const auto op = static_cast<std::uint8_t>(*take(1));
    switch (op) {
      case 0x80:  // PROTO
        if (static_cast<std::uint8_t>(*take(1)) > 5) throw fail("unsupported pickle protocol");
        break;
      case 0x95:  // FRAME: the length is advisory
        take(8);
        break;
      case '}': stack_.push_back(make_container(Kind::kDict)); break;   // EMPTY_DICT
      case ']': stack_.push_back(make_container(Kind::kList)); break;   // EMPTY_LIST
      case ')': stack_.push_back(make_container(Kind::kTuple)); break;  // EMPTY_TUPLE
      case '(': marks_.push_back(stack_.size()); break;       // MARK
      case 'X': push_string(static_cast<std::size_t>(take_le(4))); break;     // BINUNICODE
      case 0x8c: push_string(static_cast<std::size_t>(take_le(1))); break;    // SHORT_BINUNICODE
      case 0x8d: {                                                             // BINUNICODE8
        const std::uint64_t n = take_le(8);
        if (n > bytes_.size()) throw fail("truncated pickle data");
        push_string(static_cast<std::size_t>(n));
        break;
      }
      case 'c': {  // GLOBAL
        const std::string module = take_line();
        const std::string name = take_line();
        push_global(module, name);
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        PyRef name = pop();
        PyRef module = pop();
        if (name->kind != Kind::kStr || module->kind != Kind::kStr) throw fail("STACK_GLOBAL needs two strings");
        push_global(module->s, name->s);
        break;
      }
      case 'Q': {  // BINPERSID
        PyRef pid = pop();
        if (!persistent_load_) throw fail("persistent id where none is expected");
        stack_.push_back(persistent_load_(pid));
        break;
      }
      case 't': {  // TUPLE
        auto t = make_container(Kind::kTuple);
        t->items = pop_mark();
        stack_.push_back(std::move(t));
        break;
      }
      case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
        const std::size_t n = static_cast<std::size_t>(op - 0x84);
        auto t = make_container(Kind::kTuple);
        t->items.resize(n);
        for (std::size_t k = n; k-- > 0;) t->items[k] = pop();
        stack_.push_back(std::move(t));
        break;
      }
      case 'J': stack_.push_back(make_int(static_cast<std::int32_t>(static_cast<std::uint32_t>(take_le(4))))); break;
      case 'K': stack_.push_back(make_int(static_cast<std::int64_t>(take_le(1)))); break;
      case 'M': stack_.push_back(make_int(static_cast<std::int64_t>(take_le(2)))); break;
      case 0x8a: {  // LONG1
        const std::size_t n = static_cast<std::size_t>(take_le(1));
        const std::byte* p = take(n);
        if (n <= 8) {
          std::uint64_t v = 0;
          for (std::size_t k = n; k-- > 0;) v = (v << 8) | static_cast<std::uint8_t>(p[k]);
          if (n > 0 && n < 8 && (static_cast<std::uint8_t>(p[n - 1]) & 0x80) != 0) {
            v |= ~std::uint64_t{0} << (8 * n);  // sign-extend
          }
          stack_.push_back(make_int(static_cast<std::int64_t>(v)));
        } else {
          auto b = make(Kind::kBigInt);
          b->s.assign(reinterpret_cast<const char*>(p), n);
          stack_.push_back(std::move(b));
        }
        break;
      }
      case 'N': stack_.push_back(make(Kind::kNone)); break;
      case 0x88: case 0x89: {  // NEWTRUE, NEWFALSE
        auto b = make(Kind::kBool);
        b->i = op == 0x88 ? 1 : 0;
        stack_.push_back(std::move(b));
        break;
      }
      case 'G': {  // BINFLOAT, big-endian
        const std::byte* p = take(8);
        std::uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | static_cast<std::uint8_t>(p[k]);
        auto f = make(Kind::kFloat);
        std::memcpy(&f->f, &bits, sizeof bits);
        stack_.push_back(std::move(f));
        break;
      }
      case 'R': {  // REDUCE
        PyRef args = pop();
        PyRef callable = pop();
        stack_.push_back(reduce(callable, args));
        break;
      }
      case 'b': {  // BUILD: state of OrderedDict (_metadata) or tensors is not needed
        pop();
        top();
        break;
      }
      case 's': {  // SETITEM
        std::vector<PyRef> kv(2);
        kv[1] = pop();
        kv[0] = pop();
        set_items(top(), kv);
        break;
      }
      case 'u': {  // SETITEMS
        std::vector<PyRef> kv = pop_mark();
        set_items(top(), kv);
        break;
      }
      case 'a': {  // APPEND
        PyRef v = pop();
        PyRef& list = top();
        if (list->kind != Kind::kList) throw fail("APPEND to a non-list");
        list->items.push_back(std::move(v));
        break;
      }
      case 'e': {  // APPENDS
        std::vector<PyRef> vs = pop_mark();
        PyRef& list = top();
        if (list->kind != Kind::kList) throw fail("APPENDS to a non-list");
        for (auto& v : vs) list->items.push_back(std::move(v));
        break;
      }
      case 'q': memo_put(take_le(1)); break;   // BINPUT
      case 'r': memo_put(take_le(4)); break;   // LONG_BINPUT
      case 'h': memo_get(take_le(1)); break;   // BINGET
      case 'j': memo_get(take_le(4)); break;   // LONG_BINGET
      case 0x94: memo_put(memo_.size()); break;  // MEMOIZE
      case '.': {  // STOP
        if (!marks_.empty() || stack_.size() != 1) throw fail("STOP with an unbalanced stack");
        check_object_graph();
        return pop();
      }
      default: {
        static const char* hex = "0123456789abcdef";
        std::string name = "0x";
        name.push_back(hex[op >> 4]);
        name.push_back(hex[op & 15]);
        if (op >= 0x20 && op < 0x7f) name += std::string(" ('") + static_cast<char>(op) + "')";
        throw fail("unsupported pickle opcode " + name);
      }
    }
  }
}

}  // namespace

const char* kind_name(PyObject::Kind kind) {
  switch (kind) {
    case Kind::kNone: return "None";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kBigInt: return "big int";
    case Kind::kFloat: return "float";
    case Kind::kStr: return "str";
    case Kind::kTuple: return "tuple";
    case Kind::kList: return "list";
    case Kind::kDict: return "dict";
    case Kind::kGlobal: return "global";
    case Kind::kStorage: return "storage";
    case Kind::kTensor: return "tensor";
  }
  return "object";
}

bool torch_storage_type(const std::string& global, DType& dtype, std::size_t& elem_size) {
  for (const auto& t : kStorageTypes) {
    if (global == t.name) {
      dtype = t.dtype;
      elem_size = t.size;
      return true;
    }
  }
  return false;
}

PyRef run_pickle(std::span<const std::byte> bytes, std::size_t& pos, const PersistentLoad& persistent_load,
                 const std::string& where) {
  Machine m(bytes, pos, persistent_load, where);
  return m.run();
}

}  // namespace senti::model
