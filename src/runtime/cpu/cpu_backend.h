// The CPU backend: a BERT encoder + pooler + classifier over packed (unpadded) batches, with the
// matmuls on oneDNN (fp32, bf16 or int8, weights pre-packed) and the rest in hand-written kernels.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "runtime/backend.h"
#include "runtime/cpu/attention.h"
#include "runtime/cpu/cpu_model.h"

namespace senti::cpu {

class CpuBackend final : public Backend {
 public:
  // The engine must be the one `model` was packed with.
  CpuBackend(const BertConfig& config, dnnl::engine engine, CpuModel model, const BackendOptions& options,
             std::shared_ptr<const void> keep_alive = nullptr);

  void forward(const PackedBatch& batch, float* logits) override;
  std::string name() const override;
  std::string precision() const override { return precision_name(model_.precision); }
  // 2048 rows already keep the matmuls at full speed: against 16384, serving rbt3 int8 under 64
  // connections kept its throughput (488 vs 481 req/s) while peak RSS fell from 345 to 241 MB
  // (compiled file) and 430 to 323 MB (folder).
  std::size_t max_tokens_per_forward() const override { return 2048; }

 private:
  void ensure_capacity(std::size_t tokens, std::size_t sequences);
  void choose_senti_rows();
  void last_layer_qkv(PackedLinear& qkv, const PackedBatch& batch);
  void gather_cls_rows(const PackedBatch& batch);

  const BertConfig config_;
  std::shared_ptr<const void> keep_alive_;  // a mapped compiled file the model points into
  dnnl::engine engine_;
  dnnl::stream stream_;
  CpuModel model_;
  bool onednn_attention_ = false;  // SENTI_ATTENTION=onednn: per-head oneDNN matmuls (for comparison)
  // BackendOptions::num_threads (0: OpenMP's default). OpenMP's thread count is per calling thread, and
  // the service calls forward() from its engine thread, not the thread that built the backend: forward()
  // sets it again on whichever thread calls it.
  int num_threads_ = 0;
  PackedAttention attention_;

  // Workspace, grown to the largest batch seen and reused: no allocation per call after warm-up.
  std::vector<float> hidden_, qkv_, context_, projected_, intermediate_;
  std::vector<float> cls_, cls_query_, pooled_;
  std::vector<std::size_t> positions_;
};

}  // namespace senti::cpu
