// Compiled models (.senti, senti compile): the container (header, metadata JSON, tensor table), the
// config, tokenizer and vocab stored in it, and the packed weights, loaded as every command loads a
// model (Classifier::load) and run once. Invariant: only senti errors, no crash.
//   input: the whole file.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.h"
#include "model_fixture.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto path = senti::fuzz::scratch_dir() / "model.senti";
  senti::fuzz::write_file(path, std::string_view(reinterpret_cast<const char*>(data), size));
  senti::fuzz::load_and_run(path);
  return 0;
}
