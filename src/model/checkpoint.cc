// Checkpoint::load: finds the files of a Hugging Face BERT folder, reads the weights file and maps
// its tensors (under any of the names HF has used for them) into BertWeights, checking shapes.
#include "senti/checkpoint.h"

#include <cstdint>
#include <cstring>
#include <deque>
#include <optional>

#include "model/half_float.h"
#include "model/mapped_file.h"
#include "model/raw_tensor.h"
#include "model/safetensors_reader.h"
#include "model/torch_file_reader.h"
#include "senti/error.h"

namespace senti {

struct Checkpoint::Storage {
  std::optional<model::MappedFile> weights_file;
  std::deque<std::vector<float>> owned;  // widened or realigned tensors
};

Checkpoint::Checkpoint() = default;
Checkpoint::Checkpoint(Checkpoint&&) noexcept = default;
Checkpoint& Checkpoint::operator=(Checkpoint&&) noexcept = default;
Checkpoint::~Checkpoint() = default;

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
                         "; only float32, float16 and bfloat16 weights are supported");
    }
    if (n == 0) ref.data = nullptr;
    return ref;
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

}  // namespace

Checkpoint Checkpoint::load(const std::filesystem::path& dir) {
  std::error_code ec;
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
    cp.storage_->weights_file.emplace(safetensors);
    tensors = model::read_safetensors(*cp.storage_->weights_file);
  } else if (is_file(torch_bin)) {
    cp.weights_file_ = "pytorch_model.bin";
    cp.storage_->weights_file.emplace(torch_bin);
    tensors = model::read_torch_file(*cp.storage_->weights_file);
  } else {
    std::string msg = dir.string() + ": no weights file in the model folder (looked for model.safetensors and "
                                     "pytorch_model.bin)";
    if (is_file(dir / "model.safetensors.index.json") || is_file(dir / "pytorch_model.bin.index.json")) {
      msg += "; sharded checkpoints (*.index.json) are not supported, save the model as a single file";
    }
    throw ModelError(msg);
  }
  cp.weights_ = bind_weights(cp.config_, tensors, *cp.storage_, (dir / cp.weights_file_).string());
  return cp;
}

}  // namespace senti

