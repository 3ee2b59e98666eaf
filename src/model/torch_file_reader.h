// Reads a torch.save'd state_dict (pytorch_model.bin): the zip format of torch >= 1.6 and the
// legacy format before it. Returns views of the tensors into `file`.
#pragma once

#include "model/mapped_file.h"
#include "model/raw_tensor.h"

namespace senti::model {

// Throws ModelError naming the file on anything malformed or unsupported.
TensorMap read_torch_file(const MappedFile& file);

}  // namespace senti::model
