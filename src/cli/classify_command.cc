// senti classify: bulk classification of a large .jsonl/.csv/.txt file into JSONL or CSV, streaming
// (one batch in memory at a time, flushed after each batch) and resumable: run again with the same
// --output and it continues after the rows already written, so an interruption never loses finished rows.
// --explain, --long-text chunk and --granularity sentence (one row per sentence) as in predict; the row
// formats are in classify_rows.h.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/analysis_batch.h"
#include "cli/analysis_flags.h"
#include "cli/classify_rows.h"
#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/default_model.h"
#include "cli/progress_bar.h"
#include "cli/record_io.h"
#include "senti/classifier.h"
#include "senti/error.h"
#include "senti/text_rules.h"

namespace senti::cli {
namespace {

struct ClassifyOptions {
  std::string model;
  std::string input;
  std::string output;
  std::string text_field = "text";
  std::size_t max_length = 0;
  std::size_t batch_size = 64;
  int threads = 0;
  std::string precision = "auto";
  std::string device = "auto";
  AnalysisFlags analysis;
};

bool output_is_csv(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".csv";
}

// Prepares the output for appending: keeps the complete rows an earlier run wrote (dropping a torn
// last row), checks they belong to this input, and returns how many input records to skip.
// Only a regular file can be resumed: a device or pipe (/dev/null, /dev/stdout, a FIFO) is written
// from the start and never read.
std::size_t prepare_output(const ClassifyOptions& o, const RowFormat& format, RecordReader& reader) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(o.output, ec) || std::filesystem::file_size(o.output, ec) == 0) return 0;
  const OutputScan scan = scan_output(o.output, format.csv(), format.group_key());
  if (!format.matches(scan))
    throw InvalidInputError(o.output + " was written with other --explain/--granularity/--long-text flags: "
                            "rerun with the same flags, or choose another --output or delete it");
  if (scan.complete_bytes < std::filesystem::file_size(o.output)) {
    std::filesystem::resize_file(o.output, scan.complete_bytes);
    std::cerr << "senti classify: dropped a partly written last row of " << o.output << "\n";
  }
  // Sentence rows: records are groups of rows, and the last one may lack sentences: it is written again.
  const bool grouped = format.by_sentence() && scan.groups > 0;
  const std::size_t records = grouped ? scan.groups - 1 : scan.rows;
  const std::string last_id = grouped ? scan.before_last_group_id : scan.last_id;
  const char* unit = format.by_sentence() ? "records" : "rows";
  if (grouped) std::filesystem::resize_file(o.output, scan.last_group_bytes);
  if (records == 0) return 0;
  InputRecord record;
  for (std::size_t i = 0; i < records; ++i) {
    if (!reader.next(record))
      throw InvalidInputError(o.output + " already holds " + std::to_string(records) + " " + unit + " but " +
                              o.input + " has only " + std::to_string(i) +
                              ": it is not this input's output (choose another --output or delete it)");
  }
  if (id_text(record.id) != last_id)
    throw InvalidInputError(o.output + " does not continue " + o.input + ": its " + (grouped ? "record " : "row ") +
                            std::to_string(records) + " has id '" + last_id + "' but input record " +
                            std::to_string(records) + " has id '" + id_text(record.id) +
                            "' (choose another --output or delete it)");
  std::cerr << "senti classify: resuming after " << records << " " << unit << " already in " << o.output << "\n";
  return records;
}

int run_classify(const ClassifyOptions& o) {
  ClassifierOptions classifier_options;
  classifier_options.max_length = o.max_length;
  classifier_options.num_threads = o.threads;
  classifier_options.precision = o.precision;
  classifier_options.device = o.device;
  const AnalysisOptions analysis = analysis_options(o.analysis);  // a bad value fails before any work
  const RowFormat format(output_is_csv(o.output), analysis);
  const bool csv = format.csv();
  std::error_code ec;
  RecordReader reader(o.input, input_format_of(o.input), o.text_field);
  if (std::filesystem::exists(o.output, ec) && std::filesystem::equivalent(o.input, o.output, ec))
    throw InvalidInputError("--output must not be the input file");
  const std::size_t skipped = prepare_output(o, format, reader);
  Classifier classifier = Classifier::load(resolve_model(o.model), classifier_options);

  // A new or empty file, or a device: the CSV header goes first.
  const bool fresh = !std::filesystem::is_regular_file(o.output, ec) || std::filesystem::file_size(o.output, ec) == 0;
  std::ofstream out(o.output, std::ios::binary | std::ios::app);
  if (!out) throw Error("cannot open " + o.output + " for writing: " + std::strerror(errno));
  // Every write failure (a full disk: ENOSPC, /dev/full) stops the run with the reason.
  const auto check_written = [&] {
    if (!out) throw Error("writing " + o.output + " failed: " + std::strerror(errno));
  };
  if (csv && fresh) {
    out << format.csv_header();
    out.flush();
    check_written();
  }

  ProgressBar progress("classify", reader.size());
  const auto start = std::chrono::steady_clock::now();
  std::size_t done = 0, failed = 0;
  std::vector<InputRecord> batch;
  std::vector<std::optional<Encoding>> encodings;
  std::vector<std::string> errors;
  const auto write = [&](const std::string& text) {
    errno = 0;
    out << text;
    out.flush();  // every finished row is on disk before the next batch starts
    check_written();
    done += batch.size();
    batch.clear();
    encodings.clear();
    errors.clear();
    progress.update(reader.bytes_read(), done);
  };
  const auto flush_plain = [&] {
    std::vector<Encoding> valid;
    for (const auto& e : encodings)
      if (e) valid.push_back(*e);
    const auto predictions = classifier.classify(valid);
    std::string text;
    std::size_t next = 0;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (encodings[i]) {
        text += format.prediction_row(batch[i], predictions[next++]);
      } else {
        text += format.error_row(batch[i], errors[i]);
        ++failed;
      }
    }
    write(text);
  };
  const auto flush_analysis = [&] {
    std::vector<std::string> texts;  // the records read without an error
    for (std::size_t i = 0; i < batch.size(); ++i)
      if (errors[i].empty()) texts.push_back(batch[i].text);
    const std::vector<AnalysisOutcome> outcomes = analyze_each(classifier, texts, analysis);
    std::string text;
    std::size_t next = 0;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const AnalysisOutcome* outcome = errors[i].empty() ? &outcomes[next++] : nullptr;
      if (outcome != nullptr && outcome->analysis) {
        text += format.analysis_rows(batch[i], *outcome->analysis);
      } else {
        text += format.error_row(batch[i], outcome != nullptr ? outcome->error : errors[i]);
        ++failed;
      }
    }
    write(text);
  };
  const bool plain = !wants_analysis(analysis);
  const auto flush = [&] {
    if (batch.empty()) return;
    if (plain) flush_plain();
    else flush_analysis();
  };
  InputRecord record;
  while (reader.next(record)) {
    if (!plain) {  // analyze_each checks the text
      errors.push_back(record.error);
    } else {
      try {
        if (!record.error.empty()) throw InvalidInputError(record.error);
        encodings.emplace_back(encode_nonempty(classifier.tokenizer(), record.text, std::nullopt, classifier.max_length()));
        errors.emplace_back();
      } catch (const InvalidInputError& e) {
        encodings.emplace_back(std::nullopt);
        errors.emplace_back(e.what());
      }
    }
    batch.push_back(std::move(record));
    if (batch.size() >= o.batch_size) flush();
  }
  flush();
  progress.finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "senti classify: %zu rows classified in %.1f s (%.1f texts/s)%s%s -> %s\n", done, seconds,
               seconds > 0 ? static_cast<double>(done) / seconds : 0.0,
               skipped ? (", " + std::to_string(skipped) + " kept from the earlier run").c_str() : "",
               failed ? (", " + std::to_string(failed) + " rows with an error").c_str() : "", o.output.c_str());
  return failed ? 2 : 0;
}

}  // namespace

Action add_classify_command(CLI::App& app) {
  auto o = std::make_shared<ClassifyOptions>();
  CLI::App* cmd = app.add_subcommand(
      "classify", "Classify a large file (.jsonl, .csv with a header, .txt: one text per line) into JSONL, or CSV "
                  "when --output ends in .csv; streaming, resumable (rerun with the same --output to continue)");
  cmd->add_option("--input,-i", o->input, "Input file: .jsonl, .csv or .txt")->required();
  cmd->add_option("--output,-o", o->output, "Output file: .csv for CSV, anything else for JSONL")->required();
  cmd->add_option("--text-field", o->text_field, "JSONL field / CSV column holding the text (default: text)");
  cmd->add_option("--model,-m", o->model, "Model folder (Hugging Face checkpoint); default: the embedded model");
  cmd->add_option("--max-length", o->max_length, "Truncate to this many tokens (default: the model's maximum)");
  cmd->add_option("--batch-size", o->batch_size, "Texts per batch; each batch is written and flushed (default: 64)")
      ->check(CLI::Range(1, 4096));
  add_device_option(cmd, o->device);
  cmd->add_option("--threads", o->threads, "Compute threads (default: all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--precision", o->precision, "fp32, bf16, int8 or auto (default: auto); fp16 on CUDA")
      ->check(CLI::IsMember({"auto", "fp32", "bf16", "fp16", "int8"}));
  add_analysis_flags(cmd, o->analysis);
  return [o] { return run_classify(*o); };
}

}  // namespace senti::cli
