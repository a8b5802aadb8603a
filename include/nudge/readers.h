// Readers: interaction and feature files -> DatasetBuilder, with a report of every bad row.
//
// Interaction formats:
//   csv / tsv   generic delimited text; columns picked by ColumnMapping (header names or
//               0-based positions); RFC 4180 quoting in csv.
//   jsonl       one JSON object per line; ColumnMapping names the keys.
//   ml-100k     MovieLens u.data: user \t item \t rating \t timestamp, no header.
//   ml-1m       MovieLens ratings.dat: user::item::rating::timestamp, no header.
//   ml-csv      MovieLens ratings.csv (ml-20m, ml-25m, ml-latest): userId,movieId,rating,timestamp.
//   auto        picked from the file name and first line.
// Feature formats:
//   csv         header row; first column (or id_column) is the ID; a column is categorical
//               unless its header says "name:num", "name:multi" (values split on '|') or
//               "name:cat", or the options list it.
//   ml-1m / ml-csv   MovieLens movies.dat / movies.csv: genres (multi) and year (num).
//
// Bad rows are rejected with "file:line: reason" into the ReadReport and reading goes on;
// with strict set, the first bad row fails the read instead. Nothing already read is lost
// either way. Not thread-safe (the builder is mutated).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "nudge/dataset.h"
#include "nudge/status.h"

namespace nudge {

enum class InputFormat { kAuto, kCsv, kTsv, kJsonLines, kMovieLens100k, kMovieLens1m, kMovieLensCsv };

Result<InputFormat> parse_input_format(std::string_view name);  // "auto", "csv", "ml-1m", ...
std::string_view input_format_name(InputFormat format);

enum class HeaderMode { kAuto, kYes, kNo };

// Which column holds what: a header name, a 0-based position ("2"), or empty for "absent".
// Empty user/item fall back to the usual names (user_id, userId, user, uid, ...) when the
// file has a header, or to positions 0 and 1 (then value 2, timestamp 3) when it has none.
struct ColumnMapping {
  std::string user;
  std::string item;
  std::string value;      // rating, count or weight; absent -> 1
  std::string timestamp;  // seconds, milliseconds (see ReadOptions) or ISO-8601; absent -> 0
  std::string type;       // event type name; absent -> ReadOptions::default_type
  // Parses "user=uid,item=sku,value=rating"; errors name the bad key.
  Status parse(std::string_view spec);
};

struct ReadOptions {
  InputFormat format = InputFormat::kAuto;
  std::string delimiter;                  // empty: from the format; may be several characters
  HeaderMode header = HeaderMode::kAuto;  // auto: a header when line 1 names known columns
  ColumnMapping columns;
  std::string default_type;        // empty: "rating" when a value column exists, else "view"
  std::string event_weights;       // "view=1,purchase=10" applied to the catalog's event types
  bool timestamp_millis = false;   // plain-number timestamps are milliseconds
  bool strict = false;             // first bad row fails the read
  size_t max_rejects_kept = 1000;  // rows kept in the report (all are counted)
};

// Reads ReadOptions from a JSON config file: {"format": "csv", "delimiter": ";", "header": true,
// "columns": {"user": "uid", ...}, "default_type": "view", "event_weights": {"view": 1},
// "timestamp_unit": "ms", "strict": false}. Errors name the file and the key.
Result<ReadOptions> read_options_from_json_file(const std::string& path);
Result<ReadOptions> read_options_from_json_text(std::string_view text, std::string_view name);

struct RejectedRow {
  std::string place;  // "file:line"
  std::string reason;
};

struct ReadReport {
  uint64_t lines = 0;  // lines seen, header and blanks included
  uint64_t rows_kept = 0;
  uint64_t rows_rejected = 0;
  std::vector<RejectedRow> rejects;  // the first max_rejects_kept
  // "read ratings.csv: 1000 rows kept, 3 rejected (first: ratings.csv:12: ...)"
  std::string summary(std::string_view name) const;
  // One "place<TAB>reason" line per kept reject.
  Status write_rejects(const std::string& path) const;
};

Status read_interactions_file(const std::string& path, const ReadOptions& options, DatasetBuilder& builder,
                              ReadReport& report);
// Same, from text in memory; `name` stands for the file name in messages.
Status read_interactions_text(std::string_view text, std::string_view name, const ReadOptions& options,
                              DatasetBuilder& builder, ReadReport& report);
// One part of a larger file, for readers that split a file between processes
// (nudge-train-mpi's ranks): `text` holds whole lines, the first of them line `first_line` of
// the file; `header` is the file's header line (empty when it has none), read before them so
// columns named in it resolve as they do for the whole file. Messages name `name:line` as
// for the whole file.
struct FilePartText {
  std::string_view text;
  std::string_view header;
  uint64_t first_line = 1;
};
Status read_interactions_part(const FilePartText& part, std::string_view name, const ReadOptions& options,
                              DatasetBuilder& builder, ReadReport& report);
// Whether `line`, a file's first line, is read as its header under `options`.
bool is_header_line(std::string_view line, std::string_view name, const ReadOptions& options);

enum class FeatureFormat { kAuto, kCsv, kMovieLens1m, kMovieLensCsv };
Result<FeatureFormat> parse_feature_format(std::string_view name);  // "auto", "csv", "ml-1m", "ml-csv"

struct FeatureReadOptions {
  FeatureFormat format = FeatureFormat::kAuto;
  std::string delimiter;                 // empty: ',' (or '::' for ml-1m)
  std::string id_column;                 // empty: the first column
  std::vector<std::string> categorical;  // override header annotations
  std::vector<std::string> multi;
  std::vector<std::string> numeric;
  char multi_separator = '|';
  bool strict = false;
  size_t max_rejects_kept = 1000;
};

enum class FeatureTarget { kItems, kUsers };

// Negatives given per user (dense user index -> item indices), for the sampled protocol.
using NegativeLists = std::unordered_map<uint32_t, std::vector<uint32_t>>;
// NCF's test.negative: "(user,item)\tneg\tneg..." per line, IDs as in the dataset. Unknown
// IDs and malformed lines are errors naming file:line.
Result<NegativeLists> read_ncf_negatives(const std::string& path, const Catalog& catalog);

// Features of IDs not seen yet add new users/items (for items: cold-start candidates).
Status read_features_file(const std::string& path, FeatureTarget target, const FeatureReadOptions& options,
                          DatasetBuilder& builder, ReadReport& report);
Status read_features_text(std::string_view text, std::string_view name, FeatureTarget target,
                          const FeatureReadOptions& options, DatasetBuilder& builder, ReadReport& report);

}  // namespace nudge
