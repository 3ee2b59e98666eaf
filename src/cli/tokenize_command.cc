// senti tokenize: what the model sees of each text. One JSON line per text (arguments, or one per line
// on stdin): the word pieces, their ids and token_type_ids ([CLS]/[SEP] included), and whether the
// text was truncated to --max-length. The first thing to look at when a prediction is surprising.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/default_model.h"
#include "senti/classifier.h"
#include "senti/error.h"
#include "senti/text_rules.h"

namespace senti::cli {
namespace {

struct TokenizeOptions {
  std::string model;
  std::size_t max_length = 0;
  std::vector<std::string> texts;
};

// Prints one text's line; false when the text cannot be tokenized (an error line instead).
bool print_tokens(const BertTokenizer& tokenizer, std::size_t max_length, const std::string& text) {
  nlohmann::ordered_json out;
  bool ok = true;
  try {
    const Encoding e = encode_nonempty(tokenizer, text, std::nullopt, max_length);
    std::vector<std::string> tokens;
    tokens.reserve(e.input_ids.size());
    for (const auto id : e.input_ids) tokens.push_back(tokenizer.vocab().token(id));
    out = {{"text", text},
           {"tokens", tokens},
           {"input_ids", e.input_ids},
           {"token_type_ids", e.token_type_ids},
           {"length", e.input_ids.size()},
           {"truncated", e.truncated},
           {"max_length", max_length}};
  } catch (const InvalidInputError& e) {
    out = {{"text", text}, {"error", e.what()}, {"error_type", "validation"}};
    ok = false;
  }
  std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return ok;
}

int run_tokenize(const TokenizeOptions& o) {
  ClassifierOptions classifier_options;
  classifier_options.max_length = o.max_length;
  classifier_options.num_threads = 1;
  const Classifier classifier = Classifier::load(resolve_model(o.model), classifier_options);
  bool ok = true;
  if (!o.texts.empty()) {
    for (const auto& text : o.texts) ok = print_tokens(classifier.tokenizer(), classifier.max_length(), text) && ok;
  } else {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      ok = print_tokens(classifier.tokenizer(), classifier.max_length(), line) && ok;
    }
  }
  std::cout.flush();
  return ok ? 0 : 2;
}

}  // namespace

Action add_tokenize_command(CLI::App& app) {
  auto o = std::make_shared<TokenizeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "tokenize", "Show what the model sees of each text: word pieces, input_ids, token_type_ids, truncation "
                  "(one JSON line per text; arguments, or one per line on stdin)");
  cmd->add_option("--model,-m", o->model, "Model folder or .senti file; default: the embedded model");
  cmd->add_option("--max-length", o->max_length, "Truncate to this many tokens (default: the model's maximum)");
  cmd->add_option("texts", o->texts, "Texts to tokenize; none: read lines from stdin");
  return [o] { return run_tokenize(*o); };
}

}  // namespace senti::cli
