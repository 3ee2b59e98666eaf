#include "model/raw_tensor.h"

namespace senti::model {

std::string format_shape(const std::vector<std::size_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kF32: return 4;
    case DType::kF64: return 8;
    case DType::kF16:
    case DType::kBF16: return 2;
    case DType::kOther: return 0;
  }
  return 0;
}

}  // namespace senti::model
