// Reading texts one record at a time from .jsonl / .csv / .txt files (constant memory), scanning a
// previous output file to resume after it, and writing CSV fields. Used by senti eval and classify.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace senti::cli {

enum class FileFormat { kJsonl, kCsv, kText };

// By extension: .jsonl/.json/.ndjson, .csv, .txt/.tsv... Throws InvalidInputError for anything else.
FileFormat input_format_of(const std::filesystem::path& path);

struct InputRecord {
  std::size_t line = 0;     // 1-based line of the file where the record starts
  nlohmann::json id;        // the "id" field/column when the input has one, else the line number
  std::string text;
  nlohmann::json fields;    // JSONL: the parsed object; CSV: {column: value}; text: {}
  // Set when the record was read but its text cannot be used as it is: a JSONL line with invalid
  // UTF-8 (its bad bytes are U+FFFD in text). Callers report it for this record and go on.
  std::string error;
};

class RecordReader {
 public:
  // Throws InvalidInputError when the file cannot be opened, or a CSV header lacks text_field.
  RecordReader(const std::filesystem::path& path, FileFormat format, std::string text_field);

  // The next record; false at the end of the file. Blank lines are skipped (JSONL, text). Throws
  // InvalidInputError "FILE:LINE: ..." for a malformed record (bad JSON, no text field, unclosed quote);
  // messages quote at most 200 bytes of the input.
  bool next(InputRecord& record);

  std::uint64_t bytes_read() const { return bytes_read_; }
  std::uint64_t size() const { return size_; }

 private:
  bool next_line(std::string& line);
  [[noreturn]] void fail(std::size_t line, const std::string& what) const;

  std::filesystem::path path_;
  FileFormat format_;
  std::string text_field_;
  std::ifstream in_;
  std::uint64_t size_ = 0;
  std::uint64_t bytes_read_ = 0;
  std::size_t line_no_ = 0;
  std::vector<std::string> header_;
  std::size_t text_column_ = 0;
  std::ptrdiff_t id_column_ = -1;
};

// Splits one CSV record (RFC 4180: "" escapes a quote inside a quoted field; quoted fields may hold
// commas and newlines). Returns false when a quoted field is still open at the end (the record goes on
// on the next line).
bool parse_csv_record(const std::string& record, std::vector<std::string>& fields);

// A field quoted when it holds a comma, quote, CR or LF.
std::string csv_field(const std::string& value);

// What an earlier (possibly interrupted) run left in an output file.
struct OutputScan {
  std::size_t rows = 0;            // complete data rows (CSV header not counted)
  std::uint64_t complete_bytes = 0;  // bytes up to the end of the last complete row; the rest is a torn write
  bool has_header = false;         // CSV: the header row is there
  std::vector<std::string> header;  // CSV: the header's column names
  std::string last_id;             // id of the last complete row, as id_text() writes it
  nlohmann::json last_row;         // the last complete row: JSONL as written, CSV as {column: value}
  // With a group key (classify --granularity sentence: the rows of one input record form a group):
  // a group starts at a row whose key is absent, empty or 0.
  std::size_t groups = 0;
  std::uint64_t last_group_bytes = 0;  // where the last group starts
  std::string before_last_group_id;    // id of the group before the last one ("" when there is none)
};
OutputScan scan_output(const std::filesystem::path& path, bool csv, const std::string& group_key = "");

// An id as written into the output: strings as they are, other JSON values dumped.
std::string id_text(const nlohmann::json& id);

}  // namespace senti::cli
