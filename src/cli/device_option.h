// --device, shared by every subcommand that runs a model.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace senti::cli {

// Registers `--device cpu|cuda|auto` (default auto: CUDA when this build has it and a GPU is usable,
// else the CPU) storing into `device`.
CLI::Option* add_device_option(CLI::App* cmd, std::string& device);

}  // namespace senti::cli
