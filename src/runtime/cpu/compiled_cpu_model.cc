#include "runtime/cpu/compiled_cpu_model.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "model/json_integers.h"
#include "senti/error.h"

namespace senti::cpu {
namespace {

using dnnl::memory;
using nlohmann::json;

// oneDNN 2.x blocked memory descriptor <-> JSON (only the fields a blocked layout uses).
json desc_to_json(const memory::desc& desc) {
  const dnnl_memory_desc_t& d = desc.data;
  if (d.format_kind != dnnl_blocked) throw ModelError("cannot store a non-blocked oneDNN layout");
  auto dims = [&](const dnnl_dims_t& v, int n) { return std::vector<int64_t>(v, v + n); };
  const auto& b = d.format_desc.blocking;
  return json{{"ndims", d.ndims},
              {"dims", dims(d.dims, d.ndims)},
              {"data_type", static_cast<int>(d.data_type)},
              {"padded_dims", dims(d.padded_dims, d.ndims)},
              {"padded_offsets", dims(d.padded_offsets, d.ndims)},
              {"offset0", d.offset0},
              {"strides", dims(b.strides, d.ndims)},
              {"inner_blks", dims(b.inner_blks, b.inner_nblks)},
              {"inner_idxs", dims(b.inner_idxs, b.inner_nblks)},
              {"extra_flags", d.extra.flags}};
}

// A corrupt layout must not make a reorder read or write out of bounds: accept only dense blocked
// layouts (every element once, no gaps) with sane padding and blocks, which is what oneDNN's
// matmul kernels ask for.
void check_dense_layout(const dnnl_memory_desc_t& d, const std::string& what) {
  constexpr int64_t kMaxPadding = 256, kMaxBlock = 256;
  const auto& b = d.format_desc.blocking;
  if (b.inner_nblks > 4) throw ModelError(what + ": too many inner blocks");
  int64_t block_size = 1;
  int64_t per_dim_block[DNNL_MAX_NDIMS];
  for (int i = 0; i < d.ndims; ++i) per_dim_block[i] = 1;
  for (int k = 0; k < b.inner_nblks; ++k) {
    if (b.inner_blks[k] < 1 || b.inner_blks[k] > kMaxBlock || b.inner_idxs[k] < 0 || b.inner_idxs[k] >= d.ndims)
      throw ModelError(what + ": bad inner block");
    per_dim_block[b.inner_idxs[k]] *= b.inner_blks[k];
    block_size *= b.inner_blks[k];
  }
  for (int i = 0; i < d.ndims; ++i) {
    if (d.dims[i] < 1 || d.padded_dims[i] < d.dims[i] || d.padded_dims[i] > d.dims[i] + kMaxPadding ||
        d.padded_offsets[i] != 0 || per_dim_block[i] > kMaxBlock || d.padded_dims[i] % per_dim_block[i] != 0)
      throw ModelError(what + ": bad layout padding or blocking");
  }
  // Outer strides, smallest first, must tile the blocks densely: block_size, then times each
  // dimension's outer extent.
  std::vector<std::pair<int64_t, int64_t>> outer;  // stride, outer extent
  for (int i = 0; i < d.ndims; ++i) outer.emplace_back(b.strides[i], d.padded_dims[i] / per_dim_block[i]);
  std::sort(outer.begin(), outer.end());
  int64_t expected = block_size;
  for (const auto& [stride, extent] : outer) {
    if (extent > 1 && stride != expected) throw ModelError(what + ": layout is not dense");
    expected *= extent;
  }
}

memory::desc desc_from_json(const json& j, const std::string& what) {
  dnnl_memory_desc_t d;
  std::memset(&d, 0, sizeof d);
  const auto ndims = model::json_integer<int>(j.at("ndims"), what + ": ndims");
  if (ndims < 1 || ndims > DNNL_MAX_NDIMS) throw ModelError(what + ": bad ndims " + std::to_string(ndims));
  auto fill = [&](const char* key, dnnl_dims_t& out, std::size_t expect) {
    const auto v = model::json_integers<int64_t>(j.at(key), what + ": " + key);
    if (v.size() != expect || expect > DNNL_MAX_NDIMS) throw ModelError(what + ": bad layout field " + key);
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (v[i] < 0) throw ModelError(what + ": negative layout value in " + key);
      out[i] = v[i];
    }
  };
  d.ndims = ndims;
  fill("dims", d.dims, static_cast<std::size_t>(ndims));
  fill("padded_dims", d.padded_dims, static_cast<std::size_t>(ndims));
  fill("padded_offsets", d.padded_offsets, static_cast<std::size_t>(ndims));
  // Only the weight types senti compile writes; any other number is rejected before it becomes an enum.
  const int data_type = model::json_integer<int>(j.at("data_type"), what + ": data_type");
  if (data_type != dnnl_f32 && data_type != dnnl_bf16 && data_type != dnnl_s8)
    throw ModelError(what + ": unsupported layout data type " + std::to_string(data_type));
  d.data_type = static_cast<dnnl_data_type_t>(data_type);
  d.offset0 = model::json_integer<int64_t>(j.at("offset0"), what + ": offset0");
  d.format_kind = dnnl_blocked;
  auto& b = d.format_desc.blocking;
  fill("strides", b.strides, static_cast<std::size_t>(ndims));
  const auto blocks = model::json_integers<int64_t>(j.at("inner_blks"), what + ": inner_blks");
  if (blocks.size() > DNNL_MAX_NDIMS) throw ModelError(what + ": too many inner blocks");
  b.inner_nblks = static_cast<int>(blocks.size());
  fill("inner_blks", b.inner_blks, blocks.size());
  fill("inner_idxs", b.inner_idxs, blocks.size());
  for (std::size_t i = 0; i < blocks.size(); ++i)
    if (b.inner_idxs[i] >= ndims || b.inner_blks[i] == 0) throw ModelError(what + ": bad inner block");
  if (model::json_integer<uint64_t>(j.at("extra_flags"), what + ": extra_flags") != 0) throw ModelError(what + ": layouts with extra flags are not supported");
  if (d.offset0 != 0) throw ModelError(what + ": non-zero layout offset");
  check_dense_layout(d, what);
  return memory::desc(d);
}

template <class T>
void add_vector(model::CompiledFileWriter& w, const std::string& name, const std::vector<T>& v) {
  w.add(name, v.data(), v.size() * sizeof(T));
}

void add_tensor(model::CompiledFileWriter& w, const std::string& name, const TensorRef& t) {
  w.add(name, t.data, t.numel() * sizeof(float), json{{"shape", t.shape}});
}

void add_linear(model::CompiledFileWriter& w, const std::string& name, const PackedLinear& linear) {
  const PackedLinearData& d = linear.data();
  w.add(name + ".weight", d.weights, d.weights_desc.get_size(),
        json{{"precision", precision_name(d.precision)},
             {"in", d.in},
             {"out", d.out},
             {"weight_limit", d.weight_limit},
             {"layout", desc_to_json(d.weights_desc)}});
  add_vector(w, name + ".bias", d.bias);
  if (d.precision == Precision::kInt8) {
    add_vector(w, name + ".scales", d.weight_scales);
    add_vector(w, name + ".compensation", d.compensation);
  }
}

std::vector<float> read_floats(const model::CompiledFile& f, const std::string& name, std::size_t n) {
  const auto bytes = f.tensor(name, n * sizeof(float));
  std::vector<float> v(n);
  std::memcpy(v.data(), bytes.data(), bytes.size());
  return v;
}

TensorRef read_tensor(const model::CompiledFile& f, const std::string& name, std::vector<std::size_t> shape) {
  TensorRef t;
  t.shape = std::move(shape);
  const auto bytes = f.tensor(name, t.numel() * sizeof(float));
  t.data = reinterpret_cast<const float*>(bytes.data());
  return t;
}

Precision precision_from(const std::string& name, const std::string& what) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  if (name == "int8") return Precision::kInt8;
  throw ModelError(what + ": unknown precision " + name);
}

PackedLinear read_linear(const dnnl::engine& engine, const model::CompiledFile& f, const std::string& name,
                         std::size_t in, std::size_t out, Activation activation, Precision precision) {
  const std::string what = f.path().string() + ": " + name;
  const json& info = f.tensor_info(name + ".weight");
  PackedLinearData d;
  d.precision = precision_from(info.at("precision").get<std::string>(), what);
  if (d.precision != precision) throw ModelError(what + ": precision differs from the model's");
  d.in = model::json_integer<std::size_t>(info.at("in"), what + ": in");
  d.out = model::json_integer<std::size_t>(info.at("out"), what + ": out");
  if (d.in != in || d.out != out) {
    throw ModelError(what + ": shape [" + std::to_string(d.out) + ", " + std::to_string(d.in) + "], expected [" +
                     std::to_string(out) + ", " + std::to_string(in) + "]");
  }
  d.weights_desc = desc_from_json(info.at("layout"), what);
  const auto& dims = d.weights_desc.data.dims;
  if (d.weights_desc.data.ndims != 2 || dims[0] != static_cast<int64_t>(in) || dims[1] != static_cast<int64_t>(out)) {
    throw ModelError(what + ": layout dims do not match the layer");
  }
  const auto expected_type = precision == Precision::kFp32   ? dnnl_f32
                             : precision == Precision::kBf16 ? dnnl_bf16
                                                             : dnnl_s8;
  if (d.weights_desc.data.data_type != expected_type) throw ModelError(what + ": layout data type does not match");
  d.weights = f.tensor(name + ".weight", d.weights_desc.get_size()).data();
  d.bias = read_floats(f, name + ".bias", out);
  d.weight_limit = model::json_integer<int>(info.at("weight_limit"), what + ": weight_limit");
  if (precision == Precision::kInt8) {
    d.weight_scales = read_floats(f, name + ".scales", out);
    d.compensation = read_floats(f, name + ".compensation", out);
  }
  return PackedLinear(engine, std::move(d), activation);
}

}  // namespace

json add_cpu_model(const CpuModel& model, model::CompiledFileWriter& w) {
  const BertWeights& t = model.tensors;
  add_tensor(w, "embeddings.word", t.word_embeddings);
  add_tensor(w, "embeddings.position", t.position_embeddings);
  add_tensor(w, "embeddings.token_type", t.token_type_embeddings);
  add_tensor(w, "embeddings.norm.gamma", t.embedding_norm.gamma);
  add_tensor(w, "embeddings.norm.beta", t.embedding_norm.beta);
  for (std::size_t i = 0; i < model.layers.size(); ++i) {
    const CpuLayer& l = model.layers[i];
    const std::string p = "layer." + std::to_string(i) + ".";
    add_linear(w, p + "qkv", l.qkv);
    add_linear(w, p + "attention_output", l.attention_output);
    add_linear(w, p + "intermediate", l.intermediate);
    add_linear(w, p + "output", l.output);
    add_tensor(w, p + "attention_norm.gamma", l.attention_norm.gamma);
    add_tensor(w, p + "attention_norm.beta", l.attention_norm.beta);
    add_tensor(w, p + "output_norm.gamma", l.output_norm.gamma);
    add_tensor(w, p + "output_norm.beta", l.output_norm.beta);
  }
  add_linear(w, "pooler", model.head.at(0));
  add_linear(w, "classifier", model.head.at(1));
  const dnnl_version_t* v = dnnl_version();
  return json{{"precision", precision_name(model.precision)},
              {"layers", model.layers.size()},
              {"target",
               {{"onednn_version", std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                                       std::to_string(v->patch)},
                {"matmul", model.layers.empty() ? "" : model.layers.front().qkv.implementation()}}}};
}

CpuModel load_cpu_model(const dnnl::engine& engine, const model::CompiledFile& f, const BertConfig& config) {
  const json& meta = f.metadata();
  const std::string what = f.path().string();
  CpuModel model;
  try {
    model.precision = precision_from(meta.at("precision").get<std::string>(), what);
    if (model::json_integer<std::size_t>(meta.at("layers"), "compiled model: layers") != config.num_hidden_layers)
      throw ModelError(what + ": layer count differs from its config");
  } catch (const json::exception& e) {
    throw ModelError(what + ": bad compiled-model metadata: " + e.what());
  }
  const std::size_t h = config.hidden_size, inter = config.intermediate_size;
  try {
    BertWeights& t = model.tensors;
    t.word_embeddings = read_tensor(f, "embeddings.word", {config.vocab_size, h});
    t.position_embeddings = read_tensor(f, "embeddings.position", {config.max_position_embeddings, h});
    t.token_type_embeddings = read_tensor(f, "embeddings.token_type", {config.type_vocab_size, h});
    t.embedding_norm = {read_tensor(f, "embeddings.norm.gamma", {h}), read_tensor(f, "embeddings.norm.beta", {h})};
    for (std::size_t i = 0; i < config.num_hidden_layers; ++i) {
      const std::string p = "layer." + std::to_string(i) + ".";
      model.layers.push_back(CpuLayer{
          read_linear(engine, f, p + "qkv", h, 3 * h, Activation::kNone, model.precision),
          read_linear(engine, f, p + "attention_output", h, h, Activation::kNone, model.precision),
          read_linear(engine, f, p + "intermediate", h, inter, Activation::kGeluErf, model.precision),
          read_linear(engine, f, p + "output", inter, h, Activation::kNone, model.precision),
          {read_tensor(f, p + "attention_norm.gamma", {h}), read_tensor(f, p + "attention_norm.beta", {h})},
          {read_tensor(f, p + "output_norm.gamma", {h}), read_tensor(f, p + "output_norm.beta", {h})},
      });
    }
    // Files compiled before the int8 pooler (2026-12-03) hold it in fp32: each layer says its precision.
    const Precision pooler = precision_from(f.tensor_info("pooler.weight").at("precision").get<std::string>(), what);
    if (pooler != Precision::kFp32 && pooler != pooler_precision(model.precision))
      throw ModelError(what + ": pooler precision does not match the model's");
    model.head.push_back(read_linear(engine, f, "pooler", h, h, Activation::kTanh, pooler));
    model.head.push_back(read_linear(engine, f, "classifier", h, config.num_labels(), Activation::kNone, Precision::kFp32));
  } catch (const json::exception& e) {
    throw ModelError(what + ": bad compiled-model tensor table: " + e.what());
  }
  return model;
}

}  // namespace senti::cpu
