#include "runtime/cpu/cpu_model.h"

#include <algorithm>

namespace senti::cpu {
namespace {

// Concatenates Q, K and V rows (and biases) into one [3h, h] weight, so one matmul reads the
// activations once and the attention kernel finds q | k | v side by side for each token.
PackedLinear fused_qkv(const dnnl::engine& engine, const EncoderLayerWeights& w, Precision precision) {
  const std::size_t h = w.query.weight.shape.at(1), rows = w.query.weight.shape.at(0);
  std::vector<float> weight(3 * rows * h), bias(3 * rows);
  const LinearWeights* parts[] = {&w.query, &w.key, &w.value};
  for (std::size_t p = 0; p < 3; ++p) {
    std::copy_n(parts[p]->weight.data, rows * h, weight.begin() + static_cast<std::ptrdiff_t>(p * rows * h));
    std::copy_n(parts[p]->bias.data, rows, bias.begin() + static_cast<std::ptrdiff_t>(p * rows));
  }
  return PackedLinear(engine, weight.data(), bias.data(), 3 * rows, h, Activation::kNone, precision);
}

PackedLinear linear(const dnnl::engine& engine, const LinearWeights& w, Activation activation, Precision precision) {
  return PackedLinear(engine, w.weight.data, w.bias.data, w.weight.shape.at(0), w.weight.shape.at(1), activation,
                      precision);
}

}  // namespace

Precision pooler_precision(Precision model) { return model == Precision::kInt8 ? Precision::kInt8 : Precision::kFp32; }

CpuModel pack_checkpoint(const dnnl::engine& engine, const Checkpoint& checkpoint, Precision precision) {
  const BertWeights& w = checkpoint.weights();
  CpuModel model;
  model.precision = precision;
  model.tensors = w;
  model.layers.reserve(w.layers.size());
  for (const auto& layer : w.layers) {
    model.layers.push_back(CpuLayer{
        fused_qkv(engine, layer, precision),
        linear(engine, layer.attention_output, Activation::kNone, precision),
        linear(engine, layer.intermediate, Activation::kGeluErf, precision),
        linear(engine, layer.output, Activation::kNone, precision),
        layer.attention_norm,
        layer.output_norm,
    });
  }
  model.head.push_back(linear(engine, w.pooler, Activation::kTanh, pooler_precision(precision)));
  model.head.push_back(linear(engine, w.classifier, Activation::kNone, Precision::kFp32));
  return model;
}

}  // namespace senti::cpu
