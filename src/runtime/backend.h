// The interface every compute backend (cpu/, later cuda/) implements.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace senti {

class Checkpoint;

// Several sequences laid end to end, no padding: sequence i is tokens [offsets[i], offsets[i+1]).
struct PackedBatch {
  std::vector<int32_t> input_ids;
  std::vector<int32_t> token_type_ids;
  std::vector<std::size_t> offsets{0};

  // Lays one more sequence after the others.
  void append(const std::vector<int32_t>& ids, const std::vector<int32_t>& type_ids) {
    input_ids.insert(input_ids.end(), ids.begin(), ids.end());
    token_type_ids.insert(token_type_ids.end(), type_ids.begin(), type_ids.end());
    offsets.push_back(input_ids.size());
  }

  std::size_t num_sequences() const { return offsets.size() - 1; }
  std::size_t num_tokens() const { return input_ids.size(); }
  std::size_t length(std::size_t i) const { return offsets[i + 1] - offsets[i]; }
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Writes [num_sequences, num_labels] logits. Ids must be in range (the caller checks).
  virtual void forward(const PackedBatch& batch, float* logits) = 0;
  // e.g. "cpu-int8-onednn (matmul brg:avx512_core_vnni, kernels avx512)": device, precision, ISA.
  virtual std::string name() const = 0;
  // "fp32", "bf16", "fp16" or "int8": what the encoder's matmuls run in.
  virtual std::string precision() const = 0;
  // The largest number of tokens the caller should pass to one forward() (bigger batches are split).
  virtual std::size_t max_tokens_per_forward() const { return 2048; }
};

struct BackendOptions {
  int num_threads = 0;            // 0: all cores
  std::string precision = "auto";  // fp32 | bf16 | int8 | auto (CPU); fp32 | fp16 | bf16 | auto (CUDA)
};

namespace model {
class CompiledFile;
}

// The CPU backend keeps references into the checkpoint: the checkpoint must outlive it.
// Throws InvalidInputError for an unknown precision, ModelError when the host cannot run it.
std::unique_ptr<Backend> make_cpu_backend(const Checkpoint& checkpoint, const BackendOptions& options);

// From a compiled model (senti compile); the backend keeps the mapped file alive. options.precision
// must be "auto" or the file's precision (else InvalidInputError).
struct BertConfig;
std::unique_ptr<Backend> make_cpu_backend(std::shared_ptr<const model::CompiledFile> file, const BertConfig& config,
                                          const BackendOptions& options);

// Whether this build has the CUDA backend and the host a GPU it can use (CUDA runtime: device count > 0
// and a driver new enough). Computed once per process; never throws.
struct CudaAvailability {
  bool built = false;   // senti was built with SENTI_CUDA
  bool usable = false;  // built, and at least one device answers
  std::string reason;   // why not usable ("built without CUDA", "no CUDA driver", ...); empty when usable
};
const CudaAvailability& cuda_availability();

// "cpu" or "cuda" for a --device value: "cpu", "cuda", or "auto" (CUDA when usable and it runs
// `precision`, i.e. not int8). Throws InvalidInputError for another value and ModelError for "cuda"
// when CUDA is not usable (the message says why).
std::string resolve_device(const std::string& requested, const std::string& precision);

// The CUDA backend: weights uploaded to the GPU once (the checkpoint may be dropped afterwards).
// Precision fp32, fp16, bf16 or auto (fp16). Throws ModelError when CUDA is not usable, InvalidInputError
// for a precision it does not run (int8).
std::unique_ptr<Backend> make_cuda_backend(const Checkpoint& checkpoint, const BackendOptions& options);

}  // namespace senti
