// The senti subcommands. Each registers its options on the CLI11 app and returns the action to run.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace senti::cli {

using Action = std::function<int()>;

Action add_predict_command(CLI::App& app);
Action add_info_command(CLI::App& app);
Action add_make_model_command(CLI::App& app);
Action add_compile_command(CLI::App& app);
Action add_serve_command(CLI::App& app);
Action add_bench_command(CLI::App& app);
Action add_eval_command(CLI::App& app);
Action add_classify_command(CLI::App& app);
Action add_tokenize_command(CLI::App& app);

}  // namespace senti::cli
