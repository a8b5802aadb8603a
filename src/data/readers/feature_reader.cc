// Feature readers: annotated CSV (id,category,tags:multi,price:num) and MovieLens movies.
#include <algorithm>
#include <cmath>

#include "common/text.h"
#include "delimited.h"
#include "line_source.h"
#include "nudge/input_limits.h"
#include "nudge/readers.h"
#include "row_sink.h"

namespace nudge {
namespace {

struct Column {
  std::string name;
  FeatureKind kind = FeatureKind::kCategorical;
  uint32_t field = 0;
  bool is_id = false;
};

bool listed(const std::vector<std::string>& names, std::string_view n) {
  return std::find(names.begin(), names.end(), n) != names.end();
}

Result<std::vector<Column>> parse_header(const std::vector<std::string_view>& fields, const FeatureReadOptions& o,
                                         FeatureTable& table, const std::string& where) {
  std::vector<Column> cols;
  bool have_id = false;
  for (size_t c = 0; c < fields.size(); ++c) {
    std::string_view raw = trim(fields[c]);
    Column col;
    const size_t colon = raw.rfind(':');
    std::string_view annotation;
    if (colon != std::string_view::npos) {
      annotation = raw.substr(colon + 1);
      raw = raw.substr(0, colon);
    }
    col.name = std::string(raw);
    if (col.name.empty())
      return Status::invalid_argument(where + ": header column " + std::to_string(c + 1) + " has no name");
    if (annotation == "num") col.kind = FeatureKind::kNumeric;
    else if (annotation == "multi") col.kind = FeatureKind::kMultiCategorical;
    else if (annotation == "cat" || annotation.empty()) col.kind = FeatureKind::kCategorical;
    else {
      return Status::invalid_argument(where + ": header column '" + std::string(trim(fields[c])) + "': unknown kind '" +
                                      std::string(annotation) + "' (known: cat, multi, num)");
    }
    if (listed(o.numeric, col.name)) col.kind = FeatureKind::kNumeric;
    if (listed(o.multi, col.name)) col.kind = FeatureKind::kMultiCategorical;
    if (listed(o.categorical, col.name)) col.kind = FeatureKind::kCategorical;
    col.is_id = o.id_column.empty() ? c == 0 : col.name == o.id_column;
    if (col.is_id) {
      have_id = true;
    } else {
      auto f = table.add_field(col.name, col.kind);
      if (!f.is_ok()) return f.status().with_context(where);
      col.field = *f;
    }
    cols.push_back(std::move(col));
  }
  if (!have_id) return Status::invalid_argument(where + ": header has no ID column '" + o.id_column + "'");
  return cols;
}

// A categorical value is one ID; a multi-valued one is IDs joined by `separator`.
std::optional<std::string> feature_text_problem(FeatureKind kind, std::string_view text, char separator) {
  if (kind == FeatureKind::kCategorical) return text_problem(text, kMaxIdBytes);
  if (auto why = text_problem(text, kMaxIdBytes * 64)) return why;
  for (std::string_view part : split_view(text, separator))
    if (trim(part).size() > kMaxIdBytes) return "a value is longer than " + std::to_string(kMaxIdBytes) + " bytes";
  return std::nullopt;
}

// A row validated in full before anything is applied, so a rejected row changes nothing.
struct ParsedValue {
  const Column* column;
  std::string_view text;
  float number = 0.f;
};

Status read_annotated_csv(LineSource& src, std::string_view header_line, const FeatureReadOptions& o, IdMap& ids,
                          FeatureTable& table, RejectLog& log) {
  const std::string delimiter = o.delimiter.empty() ? "," : o.delimiter;
  FieldSplitter splitter(delimiter, delimiter == ",");
  std::vector<std::string_view> fields;
  if (Status s = splitter.split(header_line, &fields); !s.is_ok()) {
    return Status::invalid_argument(log.place(src.line_number()) + ": " + s.message());
  }
  NUDGE_ASSIGN_OR_RETURN(std::vector<Column> cols, parse_header(fields, o, table, log.place(src.line_number())));
  std::vector<ParsedValue> parsed;
  std::string_view line;
  std::string record_storage;
  while (src.next_non_blank(&line, &log.report().lines)) {
    const uint64_t no = src.line_number();
    splitter.complete_record(src, &line, &record_storage, &log.report().lines);
    if (Status s = splitter.split(line, &fields); !s.is_ok()) {
      NUDGE_RETURN_IF_ERROR(log.reject(no, s.message()));
      continue;
    }
    if (fields.size() != cols.size()) {
      NUDGE_RETURN_IF_ERROR(log.reject(
          no, "expected " + std::to_string(cols.size()) + " fields, found " + std::to_string(fields.size())));
      continue;
    }
    std::string_view id;
    parsed.clear();
    bool bad = false;
    for (size_t c = 0; c < cols.size() && !bad; ++c) {
      const std::string_view v = fields[c];
      if (cols[c].is_id) {
        id = v;
        continue;
      }
      ParsedValue pv{&cols[c], v};
      if (cols[c].kind == FeatureKind::kNumeric && !v.empty()) {
        auto d = parse_double(v);
        if (!d || !std::isfinite(*d)) {
          NUDGE_RETURN_IF_ERROR(
              log.reject(no, "field '" + cols[c].name + "': not a finite number: " + quote_for_error(v)));
          bad = true;
          continue;
        }
        if (auto why = value_problem(*d)) {
          NUDGE_RETURN_IF_ERROR(log.reject(no, "field '" + cols[c].name + "': " + *why + ": " + quote_for_error(v)));
          bad = true;
          continue;
        }
        pv.number = static_cast<float>(*d);
      } else if (auto why = feature_text_problem(cols[c].kind, v, o.multi_separator)) {
        NUDGE_RETURN_IF_ERROR(log.reject(no, "field '" + cols[c].name + "': " + *why));
        bad = true;
        continue;
      }
      parsed.push_back(pv);
    }
    if (bad) continue;
    if (auto why = id_problem(id)) {
      NUDGE_RETURN_IF_ERROR(log.reject(no, "field 'id': " + *why));
      continue;
    }
    const uint32_t entity = ids.intern(id);
    for (const ParsedValue& pv : parsed) {
      const Column& col = *pv.column;
      table.clear_field(entity, col.field);
      if (pv.text.empty()) continue;  // missing value
      switch (col.kind) {
        case FeatureKind::kNumeric: table.set_numeric(entity, col.field, pv.number); break;
        case FeatureKind::kCategorical: table.set_categorical(entity, col.field, pv.text); break;
        case FeatureKind::kMultiCategorical:
          for (std::string_view part : split_view(pv.text, o.multi_separator)) {
            part = trim(part);
            if (!part.empty()) table.add_value(entity, col.field, part);
          }
          break;
      }
    }
    ++log.report().rows_kept;
  }
  return src.status();
}

// MovieLens movies: id, title "Name (1995)", genres "A|B". Gives genre (multi) and year (num).
Status read_movielens_movies(LineSource& src, std::string_view first_line, bool dat, const FeatureReadOptions& o,
                             IdMap& ids, FeatureTable& table, RejectLog& log) {
  FieldSplitter splitter(dat ? "::" : ",", !dat);
  NUDGE_ASSIGN_OR_RETURN(uint32_t genre, table.add_field("genre", FeatureKind::kMultiCategorical));
  NUDGE_ASSIGN_OR_RETURN(uint32_t year, table.add_field("year", FeatureKind::kNumeric));
  std::vector<std::string_view> fields;
  std::string record_storage;
  auto process = [&](uint64_t no, std::string_view line) -> Status {
    splitter.complete_record(src, &line, &record_storage, &log.report().lines);
    if (Status s = splitter.split(line, &fields); !s.is_ok()) return log.reject(no, s.message());
    if (fields.size() != 3) {
      return log.reject(no, "expected 3 fields (id, title, genres), found " + std::to_string(fields.size()));
    }
    const std::string_view id = trim(fields[0]);
    if (auto why = id_problem(id)) return log.reject(no, "field 'id': " + *why);
    if (auto why = feature_text_problem(FeatureKind::kMultiCategorical, fields[1], o.multi_separator))
      return log.reject(no, "field 'title': " + *why);
    if (auto why = feature_text_problem(FeatureKind::kMultiCategorical, fields[2], o.multi_separator))
      return log.reject(no, "field 'genres': " + *why);
    const uint32_t entity = ids.intern(id);
    table.clear_field(entity, genre);
    table.clear_field(entity, year);
    const std::string_view title = trim(fields[1]);
    if (title.size() >= 6 && title.back() == ')' && title[title.size() - 6] == '(') {
      if (auto y = parse_int64(title.substr(title.size() - 5, 4)))
        table.set_numeric(entity, year, static_cast<float>(*y));
    }
    for (std::string_view g : split_view(trim(fields[2]), o.multi_separator)) {
      g = trim(g);
      if (!g.empty() && g != "(no genres listed)") table.add_value(entity, genre, g);
    }
    ++log.report().rows_kept;
    return Status::ok();
  };
  if (dat) NUDGE_RETURN_IF_ERROR(process(src.line_number(), first_line));  // movies.csv has a header
  std::string_view line;
  while (src.next_non_blank(&line, &log.report().lines)) NUDGE_RETURN_IF_ERROR(process(src.line_number(), line));
  return src.status();
}

// MovieLens-1M users: id::gender::age::occupation::zip. Gives gender, age (the band's lower
// bound) and occupation (its code) as categorical fields. The zip code is not kept: 3,439
// values among 6,040 users make it nearly an ID.
Status read_movielens_users(LineSource& src, std::string_view first_line, IdMap& ids, FeatureTable& table,
                            RejectLog& log) {
  FieldSplitter splitter("::", false);
  const char* const names[] = {"gender", "age", "occupation"};
  uint32_t fields_at[3];
  for (int k = 0; k < 3; ++k) {
    NUDGE_ASSIGN_OR_RETURN(fields_at[k], table.add_field(names[k], FeatureKind::kCategorical));
  }
  std::vector<std::string_view> fields;
  std::string record_storage;
  auto process = [&](uint64_t no, std::string_view line) -> Status {
    splitter.complete_record(src, &line, &record_storage, &log.report().lines);
    if (Status s = splitter.split(line, &fields); !s.is_ok()) return log.reject(no, s.message());
    if (fields.size() != 5) {
      return log.reject(no,
                        "expected 5 fields (id, gender, age, occupation, zip), found " + std::to_string(fields.size()));
    }
    const std::string_view id = trim(fields[0]);
    if (auto why = id_problem(id)) return log.reject(no, "field 'id': " + *why);
    for (int k = 0; k < 3; ++k) {
      if (auto why = feature_text_problem(FeatureKind::kCategorical, fields[static_cast<size_t>(k) + 1], '|'))
        return log.reject(no, std::string("field '") + names[k] + "': " + *why);
    }
    const uint32_t entity = ids.intern(id);
    for (int k = 0; k < 3; ++k) {
      table.clear_field(entity, fields_at[k]);
      const std::string_view value = trim(fields[static_cast<size_t>(k) + 1]);
      if (!value.empty()) table.set_categorical(entity, fields_at[k], value);
    }
    ++log.report().rows_kept;
    return Status::ok();
  };
  NUDGE_RETURN_IF_ERROR(process(src.line_number(), first_line));
  std::string_view line;
  while (src.next_non_blank(&line, &log.report().lines)) NUDGE_RETURN_IF_ERROR(process(src.line_number(), line));
  return src.status();
}

Status read_features(LineSource& src, const std::string& name, FeatureTarget target, const FeatureReadOptions& o,
                     DatasetBuilder& builder, ReadReport& report) {
  RejectLog log(name, o.strict, o.max_rejects_kept, report);
  IdMap& ids = target == FeatureTarget::kItems ? builder.catalog().items : builder.catalog().users;
  FeatureTable& table =
      target == FeatureTarget::kItems ? builder.catalog().item_features : builder.catalog().user_features;
  std::string_view first;
  const bool found = src.next_non_blank(&first, &report.lines);
  NUDGE_RETURN_IF_ERROR(src.status());
  if (!found) return Status::ok();
  const std::string first_line(first);
  FeatureFormat format = o.format;
  if (format == FeatureFormat::kAuto) {
    if (first_line.find("::") != std::string::npos) format = FeatureFormat::kMovieLens1m;
    else if (trim(first_line) == "movieId,title,genres") format = FeatureFormat::kMovieLensCsv;
    else format = FeatureFormat::kCsv;
  }
  if (format == FeatureFormat::kCsv) return read_annotated_csv(src, first_line, o, ids, table, log);
  if (format == FeatureFormat::kMovieLens1m && target == FeatureTarget::kUsers)
    return read_movielens_users(src, first_line, ids, table, log);
  return read_movielens_movies(src, first_line, format == FeatureFormat::kMovieLens1m, o, ids, table, log);
}

}  // namespace

Status read_features_file(const std::string& path, FeatureTarget target, const FeatureReadOptions& options,
                          DatasetBuilder& builder, ReadReport& report) {
  NUDGE_ASSIGN_OR_RETURN(LineSource src, LineSource::open_file(path));
  return read_features(src, path, target, options, builder, report);
}

Status read_features_text(std::string_view text, std::string_view name, FeatureTarget target,
                          const FeatureReadOptions& options, DatasetBuilder& builder, ReadReport& report) {
  LineSource src = LineSource::from_text(text);
  return read_features(src, std::string(name), target, options, builder, report);
}

}  // namespace nudge
