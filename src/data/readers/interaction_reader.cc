// Interaction readers: delimited text (csv, tsv, MovieLens) and JSON Lines.
#include <algorithm>
#include <array>
#include <cctype>

#include "columns.h"
#include "common/text.h"
#include "delimited.h"
#include "json_lines.h"
#include "line_source.h"
#include "nudge/readers.h"
#include "row_sink.h"

namespace nudge {
namespace {

// The format to use, from the options, the file name and the first line.
InputFormat detect_format(InputFormat requested, std::string_view name, std::string_view first_line) {
  if (requested != InputFormat::kAuto) return requested;
  const std::string base(
      name.substr(name.find_last_of('/') == std::string_view::npos ? 0 : name.find_last_of('/') + 1));
  const auto ends_with = [&](std::string_view suffix) { return base.ends_with(suffix); };
  const std::string_view line = trim(first_line);
  if (base == "u.data") return InputFormat::kMovieLens100k;
  if (line.starts_with("{") || ends_with(".jsonl") || ends_with(".ndjson") || ends_with(".json"))
    return InputFormat::kJsonLines;
  if (line.find("::") != std::string_view::npos) return InputFormat::kMovieLens1m;
  if (line.starts_with("userId,movieId")) return InputFormat::kMovieLensCsv;
  if (ends_with(".tsv") || ends_with(".tab") || (line.find('\t') != std::string_view::npos && !ends_with(".csv"))) {
    return InputFormat::kTsv;
  }
  return InputFormat::kCsv;
}

struct Layout {
  std::string delimiter;
  bool quoting = false;
  HeaderMode header = HeaderMode::kAuto;
  ColumnMapping preset;
};

Layout layout_for(InputFormat f) {
  switch (f) {
    case InputFormat::kMovieLens100k: return {"\t", false, HeaderMode::kNo, {"1", "2", "3", "4", ""}};
    case InputFormat::kMovieLens1m: return {"::", false, HeaderMode::kNo, {"1", "2", "3", "4", ""}};
    case InputFormat::kMovieLensCsv:
      return {",", true, HeaderMode::kYes, {"userId", "movieId", "rating", "timestamp", ""}};
    case InputFormat::kTsv: return {"\t", false, HeaderMode::kAuto, {}};
    default: return {",", true, HeaderMode::kAuto, {}};
  }
}

// Column positions (0-based, -1 = absent) resolved against the header or the first row.
using Columns = std::array<int, kNumRoles>;

Result<Columns> resolve_columns(const std::array<std::string, kNumRoles>& specs, bool has_header,
                                const std::vector<std::string_view>& first, const std::string& where) {
  Columns cols;
  cols.fill(-1);
  const bool nothing_mapped = std::all_of(specs.begin(), specs.end(), [](const std::string& s) { return s.empty(); });
  std::vector<std::string> lowered;
  for (auto f : first) lowered.push_back(lower(trim(f)));
  for (int r = 0; r < kNumRoles; ++r) {
    const std::string& spec = specs[r];
    if (is_position(spec)) {
      const int pos = std::stoi(spec);
      if (pos < 1)
        return Status::invalid_argument(where + ": column positions start at 1 (" + std::string(kRoleNames[r]) + "=0)");
      cols[r] = pos - 1;
    } else if (!spec.empty()) {
      if (!has_header) {
        return Status::invalid_argument(where + ": column '" + spec + "' for " + std::string(kRoleNames[r]) +
                                        " is a name, but the file has no header (use a 1-based position)");
      }
      auto it = std::find(lowered.begin(), lowered.end(), lower(spec));
      if (it == lowered.end()) {
        std::string known;
        for (auto f : first) known += (known.empty() ? "" : ", ") + std::string(trim(f));
        return Status::invalid_argument(where + ": header has no column '" + spec + "' for " +
                                        std::string(kRoleNames[r]) + " (columns: " + known + ")");
      }
      cols[r] = static_cast<int>(it - lowered.begin());
    } else if (has_header) {
      for (auto alias : role_aliases()[r]) {
        auto it = std::find(lowered.begin(), lowered.end(), alias);
        if (it != lowered.end()) {
          cols[r] = static_cast<int>(it - lowered.begin());
          break;
        }
      }
    } else if (nothing_mapped) {
      // No header, no mapping: user, item, value, timestamp by position when present.
      const int pos[kNumRoles] = {0, 1, 2, 3, -1};
      if (pos[r] >= 0 && static_cast<size_t>(pos[r]) < first.size()) cols[r] = pos[r];
    }
  }
  for (int r : {kUser, kItem}) {
    if (cols[r] < 0) {
      return Status::invalid_argument(where + ": cannot tell which column holds the " + std::string(kRoleNames[r]) +
                                      " ID; name it with --map " + std::string(kRoleNames[r]) + "=COLUMN");
    }
  }
  return cols;
}

bool looks_like_header(const std::vector<std::string_view>& fields, const std::array<std::string, kNumRoles>& specs) {
  for (const auto& s : specs) {
    if (!s.empty() && !is_position(s)) return true;
  }
  for (auto f : fields) {
    if (role_of_alias(lower(trim(f))) != kNumRoles) return true;
  }
  return false;
}

std::string column_label(int col, bool has_header, const std::vector<std::string>& header) {
  if (has_header && col < static_cast<int>(header.size())) return "column '" + header[col] + "'";
  return "column " + std::to_string(col + 1);
}

Status read_delimited(LineSource& src, std::string_view first_line, InputFormat format, const ReadOptions& options,
                      DatasetBuilder& builder, RejectLog& log) {
  Layout layout = layout_for(format);
  if (!options.delimiter.empty()) {
    layout.delimiter = options.delimiter;
    layout.quoting = options.delimiter == ",";
  }
  if (options.header != HeaderMode::kAuto) layout.header = options.header;
  auto specs = specs_of(layout.preset);
  const auto user_specs = specs_of(options.columns);
  for (int r = 0; r < kNumRoles; ++r) {
    if (!user_specs[r].empty()) specs[r] = user_specs[r];
  }
  FieldSplitter splitter(layout.delimiter, layout.quoting);
  std::vector<std::string_view> fields;
  const uint64_t first_no = src.line_number();
  std::string first_storage, record_storage;
  splitter.complete_record(src, &first_line, &first_storage, &log.report().lines);
  if (Status s = splitter.split(first_line, &fields); !s.is_ok()) {
    return Status::invalid_argument(log.place(first_no) + ": " + s.message());
  }
  const bool has_header =
      layout.header == HeaderMode::kYes || (layout.header == HeaderMode::kAuto && looks_like_header(fields, specs));
  std::vector<std::string> header;
  if (has_header) {
    for (auto f : fields) header.emplace_back(trim(f));
  }
  NUDGE_ASSIGN_OR_RETURN(Columns cols, resolve_columns(specs, has_header, fields, log.place(first_no)));
  NUDGE_ASSIGN_OR_RETURN(EventType default_type, default_type_for(options, cols[kValue] >= 0, builder.catalog()));
  const size_t needed = static_cast<size_t>(*std::max_element(cols.begin(), cols.end())) + 1;
  RowSink sink(builder, log, default_type);

  auto process = [&](uint64_t line_no, std::string_view line) -> Status {
    splitter.complete_record(src, &line, &record_storage, &log.report().lines);
    if (Status s = splitter.split(line, &fields); !s.is_ok()) return log.reject(line_no, s.message());
    if (fields.size() < needed) {
      return log.reject(
          line_no, "expected at least " + std::to_string(needed) + " fields, found " + std::to_string(fields.size()));
    }
    RawRow row;
    row.user = fields[cols[kUser]];
    row.item = fields[cols[kItem]];
    if (cols[kValue] >= 0) {
      const std::string_view v = fields[cols[kValue]];
      row.value = parse_double(v);
      if (!row.value) {
        return log.reject(line_no, "field 'value' (" + column_label(cols[kValue], has_header, header) +
                                       "): not a number: " + quote_for_error(v));
      }
    }
    if (cols[kTimestamp] >= 0) {
      const std::string_view t = fields[cols[kTimestamp]];
      row.timestamp = parse_timestamp(t, options.timestamp_millis);
      if (!row.timestamp) {
        return log.reject(line_no, "field 'timestamp' (" + column_label(cols[kTimestamp], has_header, header) +
                                       "): not a timestamp: " + quote_for_error(t));
      }
    }
    if (cols[kType] >= 0) row.type = fields[cols[kType]];
    return sink.add(line_no, row);
  };

  if (!has_header) NUDGE_RETURN_IF_ERROR(process(first_no, first_line));
  std::string_view line;
  while (src.next_non_blank(&line, &log.report().lines)) NUDGE_RETURN_IF_ERROR(process(src.line_number(), line));
  return src.status();
}

Status read_from_source(LineSource& src, const std::string& name, const ReadOptions& options, DatasetBuilder& builder,
                        ReadReport& report) {
  if (!options.event_weights.empty()) {
    NUDGE_RETURN_IF_ERROR(builder.catalog().event_types.parse_weights(options.event_weights).with_context(name));
  }
  RejectLog log(name, options.strict, options.max_rejects_kept, report);
  std::string_view first;
  const bool found = src.next_non_blank(&first, &report.lines);
  NUDGE_RETURN_IF_ERROR(src.status());
  if (!found) return Status::ok();  // an empty file holds no interactions
  // The first line must outlive later reads from the source.
  const std::string first_line(first);
  const InputFormat format = detect_format(options.format, name, first_line);
  if (format == InputFormat::kJsonLines) return read_json_lines(src, first_line, options, builder, log);
  return read_delimited(src, first_line, format, options, builder, log);
}

}  // namespace

Status read_interactions_file(const std::string& path, const ReadOptions& options, DatasetBuilder& builder,
                              ReadReport& report) {
  NUDGE_ASSIGN_OR_RETURN(LineSource src, LineSource::open_file(path));
  return read_from_source(src, path, options, builder, report);
}

Status read_interactions_text(std::string_view text, std::string_view name, const ReadOptions& options,
                              DatasetBuilder& builder, ReadReport& report) {
  LineSource src = LineSource::from_text(text);
  return read_from_source(src, std::string(name), options, builder, report);
}

Status read_interactions_part(const FilePartText& part, std::string_view name, const ReadOptions& options,
                              DatasetBuilder& builder, ReadReport& report) {
  ReadOptions o = options;
  if (part.header.empty()) {
    o.header = HeaderMode::kNo;
    LineSource src = LineSource::from_text(part.text, part.first_line - 1);
    return read_from_source(src, std::string(name), o, builder, report);
  }
  // The header is read as the line just before the part, so its own messages (if any) name
  // a line number the part's first line follows.
  o.header = HeaderMode::kYes;
  std::string text;
  text.reserve(part.header.size() + 1 + part.text.size());
  text.append(part.header).append("\n").append(part.text);
  LineSource src = LineSource::from_text(text, part.first_line >= 2 ? part.first_line - 2 : 0);
  return read_from_source(src, std::string(name), o, builder, report);
}

bool is_header_line(std::string_view line, std::string_view name, const ReadOptions& options) {
  ReadOptions o = options;
  o.strict = false;
  DatasetBuilder probe;
  ReadReport report;
  const Status s = read_interactions_text(line, name, o, probe, report);
  return s.is_ok() && report.rows_kept == 0 && report.rows_rejected == 0;
}

}  // namespace nudge
