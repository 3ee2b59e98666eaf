// A tensor as a weights file stores it, before conversion to fp32: element type, shape and the
// bytes it occupies inside a mapped file. Produced by the safetensors and torch readers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace senti::model {

enum class DType { kF32, kF64, kF16, kBF16, kOther };

struct RawTensor {
  DType dtype = DType::kOther;
  std::string dtype_name;              // as the file spells it ("F32", "torch.FloatStorage", ...)
  std::vector<std::size_t> shape;
  const std::byte* data = nullptr;     // first element, inside the mapped file
  std::size_t nbytes = 0;
  bool contiguous = true;              // row-major; readers refuse to hand out others for use
  std::string layout_problem;          // why it is not usable as is (e.g. its strides), if not

  std::size_t numel() const {
    std::size_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

// Tensors by the name the file gives them.
using TensorMap = std::map<std::string, RawTensor>;

// "[768, 768]"
std::string format_shape(const std::vector<std::size_t>& shape);

// Byte size of one element, 0 if unknown.
std::size_t dtype_size(DType dtype);

}  // namespace senti::model
