#include "cli/record_io.h"

#include <algorithm>
#include <system_error>

#include "senti/error.h"
#include "senti/text_rules.h"
#include "serving/http_util.h"
#include "tokenizer/utf8.h"

namespace senti::cli {
namespace {

// Deeper nesting than any record needs. Checked before parsing (as the server does for request bodies):
// a line of millions of '[' would otherwise become a DOM of as many arrays, gigabytes for one line.
constexpr std::size_t kMaxJsonDepth = 64;

std::string lower_extension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

void strip_cr(std::string& line) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
}

bool is_blank(const std::string& line) {
  return std::all_of(line.begin(), line.end(), [](unsigned char c) { return std::isspace(c) != 0; });
}

}  // namespace

FileFormat input_format_of(const std::filesystem::path& path) {
  const std::string ext = lower_extension(path);
  if (ext == ".jsonl" || ext == ".ndjson" || ext == ".json") return FileFormat::kJsonl;
  if (ext == ".csv") return FileFormat::kCsv;
  if (ext == ".txt" || ext == ".text") return FileFormat::kText;
  throw InvalidInputError(path.string() + ": unknown input format '" + ext +
                          "' (expected .jsonl (one JSON object per line), .csv (with a header row) or .txt "
                          "(one text per line))");
}

RecordReader::RecordReader(const std::filesystem::path& path, FileFormat format, std::string text_field)
    : path_(path), format_(format), text_field_(std::move(text_field)), in_(path, std::ios::binary) {
  if (!in_) throw InvalidInputError("cannot open " + path.string());
  std::error_code ec;
  size_ = std::filesystem::file_size(path, ec);
  if (ec) size_ = 0;
  if (format_ != FileFormat::kCsv) return;
  InputRecord header;
  std::string line;
  if (!next_line(line)) throw InvalidInputError(path.string() + ": empty CSV file (a header row naming the columns is needed)");
  std::string record = line;
  const std::size_t start = line_no_;
  while (!parse_csv_record(record, header_)) {
    if (!next_line(line)) fail(start, "unclosed quote in the header row");
    record += "\n" + line;
  }
  if (!header_.empty() && header_[0].rfind("\xEF\xBB\xBF", 0) == 0) header_[0].erase(0, 3);  // UTF-8 BOM
  const auto it = std::find(header_.begin(), header_.end(), text_field_);
  if (it == header_.end()) {
    std::string names;
    for (const auto& h : header_) names += (names.empty() ? "" : ", ") + h;
    throw InvalidInputError(path.string() + ": no column named '" + text_field_ + "' in the header (columns: " + excerpt(names) +
                            "); choose one with --text-field");
  }
  text_column_ = static_cast<std::size_t>(it - header_.begin());
  const auto id = std::find(header_.begin(), header_.end(), "id");
  if (id != header_.end()) id_column_ = id - header_.begin();
}

bool RecordReader::next_line(std::string& line) {
  if (!std::getline(in_, line)) return false;
  bytes_read_ += line.size() + (in_.eof() ? 0 : 1);
  ++line_no_;
  if (line_no_ == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0 && format_ != FileFormat::kCsv) line.erase(0, 3);
  strip_cr(line);
  return true;
}

void RecordReader::fail(std::size_t line, const std::string& what) const {
  throw InvalidInputError(path_.string() + ":" + std::to_string(line) + ": " + what);
}

bool RecordReader::next(InputRecord& record) {
  std::string line;
  switch (format_) {
    case FileFormat::kText:
      while (next_line(line)) {
        if (is_blank(line)) continue;
        record = InputRecord{line_no_, line_no_, std::move(line), nlohmann::json::object(), {}};
        return true;
      }
      return false;
    case FileFormat::kJsonl:
      while (next_line(line)) {
        if (is_blank(line)) continue;
        if (serving::json_nesting_depth(line, kMaxJsonDepth) > kMaxJsonDepth)
          fail(line_no_, "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
        nlohmann::json j;
        std::string error;
        try {
          j = nlohmann::json::parse(line);
        } catch (const nlohmann::json::parse_error& e) {
          // Invalid UTF-8 is this record's problem, not the file's: read it with U+FFFD in place of
          // the bad bytes, so the caller can report it (as for .txt and .csv) and carry on.
          std::size_t bad = 0;
          const std::string repaired = tokenizer_detail::replace_invalid_utf8(line, &bad);
          j = nlohmann::json::parse(repaired, nullptr, false);
          if (repaired == line || j.is_discarded()) fail(line_no_, "invalid JSON: " + excerpt(e.what()));
          error = "invalid UTF-8 at byte offset " + std::to_string(bad) + " of the line";
        }
        if (!j.is_object()) fail(line_no_, "expected a JSON object, got " + std::string(j.type_name()));
        const auto text = j.find(text_field_);
        if (text == j.end()) fail(line_no_, "no \"" + text_field_ + "\" field (choose the text field with --text-field)");
        if (!text->is_string()) fail(line_no_, "\"" + text_field_ + "\" is not a string");
        record.line = line_no_;
        record.error = std::move(error);
        record.text = text->get<std::string>();
        const auto id = j.find("id");
        record.id = id != j.end() ? *id : nlohmann::json(line_no_);
        record.fields = std::move(j);
        return true;
      }
      return false;
    case FileFormat::kCsv: {
      std::vector<std::string> fields;
      while (next_line(line)) {
        const std::size_t start = line_no_;
        if (line.empty()) continue;
        std::string text = line;
        while (!parse_csv_record(text, fields)) {
          if (!next_line(line)) fail(start, "unclosed quote (the quoted field runs to the end of the file)");
          text += "\n" + line;
        }
        if (fields.size() != header_.size())
          fail(start, "expected " + std::to_string(header_.size()) + " fields like the header, got " +
                          std::to_string(fields.size()));
        record.line = start;
        record.error.clear();
        record.text = fields[text_column_];
        record.id = id_column_ >= 0 ? nlohmann::json(fields[static_cast<std::size_t>(id_column_)]) : nlohmann::json(start);
        record.fields = nlohmann::json::object();
        for (std::size_t i = 0; i < fields.size(); ++i) record.fields[header_[i]] = fields[i];
        return true;
      }
      return false;
    }
  }
  return false;
}

bool parse_csv_record(const std::string& record, std::vector<std::string>& fields) {
  fields.clear();
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < record.size(); ++i) {
    const char c = record[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < record.size() && record[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
    } else {
      field += c;
    }
  }
  if (quoted) return false;
  fields.push_back(std::move(field));
  return true;
}

std::string csv_field(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (const char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string id_text(const nlohmann::json& id) {
  return id.is_string() ? id.get<std::string>() : id.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

// Counts a complete row into the scan: its id, and the groups when a group key is given.
void count_row(OutputScan& scan, nlohmann::json row, std::uint64_t row_start, std::uint64_t row_end,
               const std::string& group_key, std::string& last_group_id) {
  ++scan.rows;
  scan.last_id = row.is_object() && row.contains("id") ? id_text(row["id"]) : "";
  scan.complete_bytes = row_end;
  if (!group_key.empty()) {
    const nlohmann::json key = row.is_object() && row.contains(group_key) ? row[group_key] : nlohmann::json();
    if (key.is_null() || key == 0 || key == "" || key == "0" || scan.groups == 0) {
      if (scan.groups > 0) scan.before_last_group_id = last_group_id;
      ++scan.groups;
      scan.last_group_bytes = row_start;
      last_group_id = scan.last_id;
    }
  }
  scan.last_row = std::move(row);
}

}  // namespace

OutputScan scan_output(const std::filesystem::path& path, bool csv, const std::string& group_key) {
  OutputScan scan;
  std::ifstream in(path, std::ios::binary);
  if (!in) return scan;
  std::uint64_t offset = 0, row_start = 0;
  std::string line;
  std::string pending;  // CSV: a record whose quoted field continues on the next line
  std::vector<std::string> fields;
  std::string last_group_id;
  while (std::getline(in, line)) {
    const bool terminated = !in.eof();
    offset += line.size() + (terminated ? 1 : 0);
    if (!terminated) break;  // a torn last write: not a complete row
    std::string body = line;
    if (!body.empty() && body.back() == '\r') body.pop_back();
    if (csv) {
      pending = pending.empty() ? body : pending + "\n" + body;
      if (!parse_csv_record(pending, fields)) continue;
      pending.clear();
      if (!scan.has_header) {
        scan.has_header = true;
        scan.header = fields;
        scan.complete_bytes = offset;
      } else {
        nlohmann::json row = nlohmann::json::object();
        for (std::size_t c = 0; c < fields.size() && c < scan.header.size(); ++c) row[scan.header[c]] = fields[c];
        row["id"] = fields.empty() ? "" : fields[0];  // the first column, whatever the header calls it
        count_row(scan, std::move(row), row_start, offset, group_key, last_group_id);
      }
      row_start = offset;
    } else {
      if (is_blank(body)) {
        scan.complete_bytes = offset;
        row_start = offset;
        continue;
      }
      if (serving::json_nesting_depth(body, kMaxJsonDepth) > kMaxJsonDepth) break;  // not a row senti wrote
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(body);
      } catch (const nlohmann::json::parse_error&) {
        break;  // a torn row followed by nothing valid: keep what came before
      }
      count_row(scan, std::move(j), row_start, offset, group_key, last_group_id);
      row_start = offset;
    }
  }
  return scan;
}

}  // namespace senti::cli
