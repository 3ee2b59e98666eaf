#include "cli/device_option.h"

namespace senti::cli {

CLI::Option* add_device_option(CLI::App* cmd, std::string& device) {
  return cmd
      ->add_option("--device", device,
                   "cpu, cuda or auto (CUDA when built with it and a GPU is usable, else the CPU; CUDA runs fp16, "
                   "bf16 or fp32 and checkpoint folders)")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
}

}  // namespace senti::cli
