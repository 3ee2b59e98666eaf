// senti make-model: writes an hfl/rbt3-shaped (or tiny) checkpoint with deterministic synthetic
// weights, for benchmarks and tests on machines that cannot download real checkpoints.
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/default_model.h"
#include "model/synthetic_checkpoint.h"
#include "senti/error.h"

namespace senti::cli {
namespace {

struct MakeModelOptions {
  std::string preset = "rbt3";
  std::string output;
  std::string vocab;  // empty: default_vocab_path()
  std::uint64_t seed = 1;
};

int run_make_model(const MakeModelOptions& options) {
  BertConfig config = options.preset == "tiny" ? tiny_config() : rbt3_config();
  const std::filesystem::path vocab = options.vocab.empty() ? default_vocab_path() : std::filesystem::path(options.vocab);
  if (!std::filesystem::is_regular_file(vocab))
    throw InvalidInputError("vocab file not found: " + vocab.string() + " (pass --vocab)");
  write_synthetic_checkpoint(options.output, config, options.seed, vocab);
  std::cout << "wrote " << options.preset << "-shaped checkpoint (" << config.num_hidden_layers << " layers, hidden "
            << config.hidden_size << ", seed " << options.seed << ") to " << options.output << "\n";
  return 0;
}

}  // namespace

Action add_make_model_command(CLI::App& app) {
  auto options = std::make_shared<MakeModelOptions>();
  CLI::App* cmd = app.add_subcommand(
      "make-model", "Write a checkpoint with the rbt3 (or tiny) shape and deterministic synthetic weights");
  cmd->add_option("--preset", options->preset, "rbt3 or tiny")->check(CLI::IsMember({"rbt3", "tiny"}));
  cmd->add_option("--output,-o", options->output, "Folder to write")->required();
  cmd->add_option("--vocab", options->vocab, "vocab.txt to use (default: the bert-base-chinese vocab of data/vocab, installed in share/senti/vocab)");
  cmd->add_option("--seed", options->seed, "Weight generator seed");
  return [options] { return run_make_model(*options); };
}

}  // namespace senti::cli
