// Reads the tensor table of a .safetensors file: 8-byte little-endian header length, a JSON header
// {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the data.
#pragma once

#include "model/mapped_file.h"
#include "model/raw_tensor.h"

namespace senti::model {

// Validates the header (lengths, dtypes, offsets within the file, no overlaps) and returns views
// into `file`. Throws ModelError naming the file and the tensor at fault.
TensorMap read_safetensors(const MappedFile& file);

}  // namespace senti::model
