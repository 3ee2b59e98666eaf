// senti: command-line entry point. Subcommands live in *_command.cc, one file each.
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "senti/error.h"

int main(int argc, char** argv) {
  CLI::App app{"senti: fast BERT text classification (Chinese sentiment first)"};
  app.set_version_flag("--version", std::string("senti ") + SENTI_VERSION);
  app.require_subcommand(1);

  const senti::cli::Action predict = senti::cli::add_predict_command(app);
  const senti::cli::Action info = senti::cli::add_info_command(app);
  const senti::cli::Action make_model = senti::cli::add_make_model_command(app);
  const senti::cli::Action compile = senti::cli::add_compile_command(app);
  const senti::cli::Action serve = senti::cli::add_serve_command(app);
  const senti::cli::Action bench = senti::cli::add_bench_command(app);
  const senti::cli::Action eval = senti::cli::add_eval_command(app);
  const senti::cli::Action classify = senti::cli::add_classify_command(app);
  const senti::cli::Action tokenize = senti::cli::add_tokenize_command(app);

  if (argc < 2) {  // bare `senti`: what it can do, and the status of a usage error
    std::cout << app.help();
    return 2;
  }
  CLI11_PARSE(app, argc, argv);
  try {
    if (app.got_subcommand("predict")) return predict();
    if (app.got_subcommand("info")) return info();
    if (app.got_subcommand("make-model")) return make_model();
    if (app.got_subcommand("compile")) return compile();
    if (app.got_subcommand("serve")) return serve();
    if (app.got_subcommand("bench")) return bench();
    if (app.got_subcommand("eval")) return eval();
    if (app.got_subcommand("classify")) return classify();
    if (app.got_subcommand("tokenize")) return tokenize();
  } catch (const senti::InvalidInputError& e) {
    std::cerr << "senti: invalid input: " << e.what() << "\n";
    return 2;
  } catch (const senti::ModelError& e) {
    std::cerr << "senti: model error: " << e.what() << "\n";
    return 3;
  } catch (const std::exception& e) {
    std::cerr << "senti: error: " << e.what() << "\n";
    return 1;
  }
  return 1;
}
