// Checkpoint::load: finds the files of a Hugging Face BERT folder, reads the weights file and maps
// its tensors (under any of the names HF has used for them) into BertWeights, checking shapes.
#include "senti/checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <optional>

#include <nlohmann/json.hpp>

#include "model/half_float.h"
#include "model/mapped_file.h"
#include "model/raw_tensor.h"
#include "model/safetensors_reader.h"
#include "model/torch_file_reader.h"
#include "senti/error.h"
#include "senti/text_rules.h"

namespace senti {

struct Checkpoint::Storage {
  std::deque<model::MappedFile> weights_files;  // one, or every shard of a sharded checkpoint
  std::deque<std::vector<float>> owned;  // widened or realigned tensors
};

Checkpoint::Checkpoint() = default;
Checkpoint::Checkpoint(Checkpoint&&) noexcept = default;
Checkpoint& Checkpoint::operator=(Checkpoint&&) noexcept = default;
Checkpoint::~Checkpoint() = default;

void Checkpoint::drop_resident_pages() const noexcept {
  if (storage_ == nullptr) return;
  for (const model::MappedFile& file : storage_->weights_files) file.drop_resident_pages();
}

namespace {

using model::DType;
using model::RawTensor;
using model::TensorMap;

// Names a tensor may have in the file, most usual first. `canonical` is the HF name with "bert.".
std::vector<std::string> candidate_names(const std::string& canonical) {
  std::vector<std::string> names{canonical};
  const std::string prefix = "bert.";
  if (canonical.rfind(prefix, 0) == 0) names.push_back(canonical.substr(prefix.size()));
  auto legacy = [](const std::string& n) -> std::optional<std::string> {
    auto ends = [&](const std::string& suffix) {
      return n.size() >= suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (ends("LayerNorm.weight")) return n.substr(0, n.size() - 6) + "gamma";
    if (ends("LayerNorm.bias")) return n.substr(0, n.size() - 4) + "beta";
    return std::nullopt;
  };
  const std::size_t n = names.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (auto l = legacy(names[i])) names.push_back(*l);
  }
  return names;
}

class Binder {
 public:
  Binder(const TensorMap& tensors, Checkpoint::Storage& storage, std::string file)
      : tensors_(tensors), storage_(storage), file_(std::move(file)) {}

  TensorRef bind(const std::string& canonical, std::vector<std::size_t> expected) {
    const auto names = candidate_names(canonical);
    const RawTensor* found = nullptr;
    std::string name;
    for (const auto& n : names) {
      if (auto it = tensors_.find(n); it != tensors_.end()) {
        found = &it->second;
        name = n;
        break;
      }
    }
    if (found == nullptr) {
      std::string looked;
      for (std::size_t i = 0; i < names.size(); ++i) looked += (i ? " or " : "") + names[i];
      throw ModelError(file_ + ": tensor " + canonical + " missing (looked for " + looked + ")");
    }
    const RawTensor& t = *found;
    if (t.shape != expected) {
      throw ModelError(file_ + ": tensor " + name + " has shape " + model::format_shape(t.shape) + ", expected " +
                       model::format_shape(expected));
    }
    if (!t.contiguous) throw ModelError(file_ + ": tensor " + name + " " + t.layout_problem);
    TensorRef ref;
    ref.shape = std::move(expected);
    const std::size_t n = t.numel();
    switch (t.dtype) {
      case DType::kF32:
        if (reinterpret_cast<std::uintptr_t>(t.data) % alignof(float) == 0) {
          ref.data = reinterpret_cast<const float*>(t.data);  // zero copy, straight from the mmap
        } else {
          auto& buf = storage_.owned.emplace_back(n);
          std::memcpy(buf.data(), t.data, n * sizeof(float));
          ref.data = buf.data();
        }
        break;
      case DType::kF64: {  // narrowed once, as transformers does when it loads fp64 into an fp32 model
        auto& buf = storage_.owned.emplace_back(n);
        for (std::size_t i = 0; i < n; ++i) {
          double v;
          std::memcpy(&v, t.data + 8 * i, sizeof v);
          buf[i] = static_cast<float>(v);
        }
        ref.data = buf.data();
        break;
      }
      case DType::kF16:
      case DType::kBF16: {
        auto& buf = storage_.owned.emplace_back(n);
        const bool half = t.dtype == DType::kF16;
        for (std::size_t i = 0; i < n; ++i) {
          const auto lo = static_cast<std::uint16_t>(static_cast<std::uint8_t>(t.data[2 * i]));
          const auto hi = static_cast<std::uint16_t>(static_cast<std::uint8_t>(t.data[2 * i + 1]));
          const auto bits = static_cast<std::uint16_t>(lo | (hi << 8));
          buf[i] = half ? model::half_to_float(bits) : model::bfloat16_to_float(bits);
        }
        ref.data = buf.data();
        break;
      }
      case DType::kOther:
        throw ModelError(file_ + ": tensor " + name + " has element type " + t.dtype_name +
                         "; only float32, float64, float16 and bfloat16 weights are supported");
    }
    if (n == 0) ref.data = nullptr;
    check_finite(name, ref);
    return ref;
  }

  // A NaN or an infinity among the weights makes the logits NaN (or one label's probability exactly 1)
  // for every text: refused, with where it is, instead of serving wrong answers. fp64 values beyond
  // float's range arrive here as infinities. Scanned in blocks without an early exit, so the compiler can
  // vectorize the common all-finite case.
  void check_finite(const std::string& name, const TensorRef& ref) const {
    const std::size_t n = ref.numel();
    constexpr std::size_t kScanBlock = 4096;
    for (std::size_t start = 0; start < n; start += kScanBlock) {
      const std::size_t end = std::min(n, start + kScanBlock);
      bool bad = false;
      for (std::size_t i = start; i < end; ++i) bad |= !std::isfinite(ref.data[i]);
      if (!bad) continue;
      for (std::size_t i = start; i < end; ++i) {
        if (std::isfinite(ref.data[i])) continue;
        std::string where;
        std::size_t rest = i;
        for (std::size_t d = ref.shape.size(); d-- > 0;) {
          where = std::to_string(rest % ref.shape[d]) + (where.empty() ? "" : ", ") + where;
          rest /= ref.shape[d];
        }
        throw ModelError(file_ + ": tensor " + name + " holds " + (std::isnan(ref.data[i]) ? "NaN" : "an infinity") +
                         " at [" + where + "]; a model with non-finite weights gives meaningless scores");
      }
    }
  }

  LinearWeights linear(const std::string& prefix, std::size_t out, std::size_t in) {
    LinearWeights w;
    w.weight = bind(prefix + ".weight", {out, in});
    w.bias = bind(prefix + ".bias", {out});
    return w;
  }

  LayerNormWeights norm(const std::string& prefix, std::size_t hidden) {
    LayerNormWeights w;
    w.gamma = bind(prefix + ".weight", {hidden});
    w.beta = bind(prefix + ".bias", {hidden});
    return w;
  }

 private:
  const TensorMap& tensors_;
  Checkpoint::Storage& storage_;
  std::string file_;
};

BertWeights bind_weights(const BertConfig& c, const TensorMap& tensors, Checkpoint::Storage& storage,
                         const std::string& file) {
  Binder b(tensors, storage, file);
  const std::size_t h = c.hidden_size;
  BertWeights w;
  w.word_embeddings = b.bind("bert.embeddings.word_embeddings.weight", {c.vocab_size, h});
  w.position_embeddings = b.bind("bert.embeddings.position_embeddings.weight", {c.max_position_embeddings, h});
  w.token_type_embeddings = b.bind("bert.embeddings.token_type_embeddings.weight", {c.type_vocab_size, h});
  w.embedding_norm = b.norm("bert.embeddings.LayerNorm", h);
  for (std::size_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "bert.encoder.layer." + std::to_string(i);
    EncoderLayerWeights l;
    l.query = b.linear(p + ".attention.self.query", h, h);
    l.key = b.linear(p + ".attention.self.key", h, h);
    l.value = b.linear(p + ".attention.self.value", h, h);
    l.attention_output = b.linear(p + ".attention.output.dense", h, h);
    l.attention_norm = b.norm(p + ".attention.output.LayerNorm", h);
    l.intermediate = b.linear(p + ".intermediate.dense", c.intermediate_size, h);
    l.output = b.linear(p + ".output.dense", h, c.intermediate_size);
    l.output_norm = b.norm(p + ".output.LayerNorm", h);
    w.layers.push_back(std::move(l));
  }
  w.pooler = b.linear("bert.pooler.dense", h, h);
  w.classifier = b.linear("classifier", c.num_labels(), h);
  return w;
}

bool is_file(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec);
}

// A sharded checkpoint: the index's "weight_map" names the shard file of every tensor; every shard
// is read, and each tensor must be in the shard the index says.
template <typename ReadShard>
TensorMap read_shards(const std::filesystem::path& dir, const std::string& index_name, Checkpoint::Storage& storage,
                      ReadShard read_shard) {
  const auto index_path = dir / index_name;
  const std::string origin = index_path.string();
  std::ifstream in(index_path, std::ios::binary);
  const nlohmann::json index = nlohmann::json::parse(in, nullptr, false);
  if (index.is_discarded() || !index.is_object()) throw ModelError(origin + ": not a JSON object");
  const auto map = index.find("weight_map");
  if (map == index.end() || !map->is_object() || map->empty())
    throw ModelError(origin + ": no \"weight_map\" object naming the shard of each tensor");
  std::map<std::string, std::vector<std::string>> shards;  // shard file -> tensors the index puts there
  for (const auto& [tensor, file] : map->items()) {
    if (!file.is_string()) throw ModelError(origin + ": \"weight_map\"[\"" + excerpt(tensor) + "\"] is not a file name");
    const std::string name = file.template get<std::string>();
    if (name.empty() || name.find('/') != std::string::npos || name.find('\\') != std::string::npos || name == "..")
      throw ModelError(origin + ": shard \"" + excerpt(name) + "\" is not a file name inside the model folder");
    shards[name].push_back(tensor);
  }
  TensorMap tensors;
  for (const auto& [name, expected] : shards) {
    const auto path = dir / name;
    if (!is_file(path)) throw ModelError(origin + ": shard " + name + " is missing from the model folder");
    TensorMap part = read_shard(storage.weights_files.emplace_back(path));
    for (const auto& tensor : expected)
      if (part.find(tensor) == part.end())
        throw ModelError(path.string() + ": tensor " + tensor + " missing (" + index_name + " puts it in this shard)");
    for (auto& [tensor, raw] : part) tensors.insert_or_assign(tensor, std::move(raw));
  }
  return tensors;
}

}  // namespace

Checkpoint Checkpoint::load(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(dir, ec)) {
    throw ModelError(dir.string() +
                     ": not a senti compiled model (a .senti file written by `senti compile` starts with another "
                     "signature) nor a checkpoint folder (config.json, vocab.txt and model.safetensors or "
                     "pytorch_model.bin)");
  }
  if (!std::filesystem::is_directory(dir, ec)) {
    throw ModelError(dir.string() +
                     ": model folder does not exist or is not a folder (expected config.json, vocab.txt and "
                     "model.safetensors or pytorch_model.bin)");
  }
  const auto config_path = dir / "config.json";
  if (!is_file(config_path)) {
    throw ModelError(dir.string() + ": no config.json in the model folder");
  }
  const auto vocab_path = dir / "vocab.txt";
  if (!is_file(vocab_path)) {
    throw ModelError(dir.string() + ": no vocab.txt in the model folder (the WordPiece vocabulary is required)");
  }

  Checkpoint cp;
  cp.dir_ = dir;
  cp.config_ = BertConfig::from_json_file(config_path);
  cp.storage_ = std::make_unique<Storage>();

  const auto safetensors = dir / "model.safetensors";
  const auto torch_bin = dir / "pytorch_model.bin";
  TensorMap tensors;
  if (is_file(safetensors)) {
    cp.weights_file_ = "model.safetensors";
    tensors = model::read_safetensors(cp.storage_->weights_files.emplace_back(safetensors));
  } else if (is_file(torch_bin)) {
    cp.weights_file_ = "pytorch_model.bin";
    tensors = model::read_torch_file(cp.storage_->weights_files.emplace_back(torch_bin));
  } else if (is_file(dir / "model.safetensors.index.json")) {
    cp.weights_file_ = "model.safetensors.index.json";
    tensors = read_shards(dir, cp.weights_file_, *cp.storage_, model::read_safetensors);
  } else if (is_file(dir / "pytorch_model.bin.index.json")) {
    cp.weights_file_ = "pytorch_model.bin.index.json";
    tensors = read_shards(dir, cp.weights_file_, *cp.storage_, model::read_torch_file);
  } else {
    throw ModelError(dir.string() + ": no weights file in the model folder (looked for model.safetensors, "
                                    "pytorch_model.bin and their sharded *.index.json forms)");
  }
  cp.weights_ = bind_weights(cp.config_, tensors, *cp.storage_, (dir / cp.weights_file_).string());
  return cp;
}

}  // namespace senti

