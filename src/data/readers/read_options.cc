// Format names, column mappings, JSON read configs and the read report.
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/text.h"
#include "nudge/input_limits.h"
#include "nudge/readers.h"

namespace nudge {

namespace {
constexpr std::pair<InputFormat, std::string_view> kFormatNames[] = {
    {InputFormat::kAuto, "auto"},
    {InputFormat::kCsv, "csv"},
    {InputFormat::kTsv, "tsv"},
    {InputFormat::kJsonLines, "jsonl"},
    {InputFormat::kMovieLens100k, "ml-100k"},
    {InputFormat::kMovieLens1m, "ml-1m"},
    {InputFormat::kMovieLensCsv, "ml-csv"},
};
}  // namespace

Result<InputFormat> parse_input_format(std::string_view name) {
  for (auto [format, n] : kFormatNames) {
    if (n == name) return format;
  }
  return Status::invalid_argument("unknown input format '" + std::string(name) +
                                  "' (known: auto, csv, tsv, jsonl, ml-100k, ml-1m, ml-csv)");
}

std::string_view input_format_name(InputFormat format) {
  for (auto [f, n] : kFormatNames) {
    if (f == format) return n;
  }
  return "?";
}

Result<FeatureFormat> parse_feature_format(std::string_view name) {
  if (name == "auto") return FeatureFormat::kAuto;
  if (name == "csv") return FeatureFormat::kCsv;
  if (name == "ml-1m") return FeatureFormat::kMovieLens1m;
  if (name == "ml-csv") return FeatureFormat::kMovieLensCsv;
  return Status::invalid_argument("unknown feature format '" + std::string(name) +
                                  "' (known: auto, csv, ml-1m, ml-csv)");
}

Status ColumnMapping::parse(std::string_view spec) {
  for (std::string_view entry : split_view(spec, ',')) {
    entry = trim(entry);
    if (entry.empty()) continue;
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos) {
      return Status::invalid_argument("column mapping: expected role=column, got '" + std::string(entry) + "'");
    }
    const std::string_view role = trim(entry.substr(0, eq));
    const std::string column(trim(entry.substr(eq + 1)));
    if (column.empty()) return Status::invalid_argument("column mapping: empty column for '" + std::string(role) + "'");
    if (role == "user") user = column;
    else if (role == "item") item = column;
    else if (role == "value") value = column;
    else if (role == "timestamp") timestamp = column;
    else if (role == "type") type = column;
    else {
      return Status::invalid_argument("column mapping: unknown role '" + std::string(role) +
                                      "' (known: user, item, value, timestamp, type)");
    }
  }
  return Status::ok();
}

Result<ReadOptions> read_options_from_json_text(std::string_view text, std::string_view name) {
  const std::string where(name);
  nlohmann::json j;
  if (auto why = json_text_problem(text)) return Status::invalid_argument(where + ": invalid JSON: " + *why);
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e400
    return Status::invalid_argument(where + ": invalid JSON: " + e.what());
  }
  if (!j.is_object()) return Status::invalid_argument(where + ": expected a JSON object at the top level");
  ReadOptions o;
  auto want_string = [&](const nlohmann::json& v, const std::string& key) -> Result<std::string> {
    if (!v.is_string()) return Status::invalid_argument(where + ": key '" + key + "' must be a string");
    return v.get<std::string>();
  };
  auto want_bool = [&](const nlohmann::json& v, const std::string& key) -> Result<bool> {
    if (!v.is_boolean()) return Status::invalid_argument(where + ": key '" + key + "' must be true or false");
    return v.get<bool>();
  };
  for (const auto& [key, v] : j.items()) {
    if (key == "format") {
      NUDGE_ASSIGN_OR_RETURN(std::string s, want_string(v, key));
      auto f = parse_input_format(s);
      if (!f.is_ok()) return f.status().with_context(where + ": key 'format'");
      o.format = *f;
    } else if (key == "delimiter") {
      NUDGE_ASSIGN_OR_RETURN(o.delimiter, want_string(v, key));
      if (o.delimiter.empty()) return Status::invalid_argument(where + ": key 'delimiter' must not be empty");
    } else if (key == "header") {
      if (v.is_string() && v.get<std::string>() == "auto") {
        o.header = HeaderMode::kAuto;
      } else {
        NUDGE_ASSIGN_OR_RETURN(bool h, want_bool(v, key));
        o.header = h ? HeaderMode::kYes : HeaderMode::kNo;
      }
    } else if (key == "columns") {
      if (!v.is_object()) return Status::invalid_argument(where + ": key 'columns' must be an object");
      std::string spec;
      for (const auto& [role, col] : v.items()) {
        std::string c;
        if (col.is_number_integer()) c = std::to_string(col.get<int64_t>());
        else if (col.is_string()) c = col.get<std::string>();
        else return Status::invalid_argument(where + ": key 'columns." + role + "' must be a name or a position");
        spec += role + "=" + c + ",";
      }
      NUDGE_RETURN_IF_ERROR(o.columns.parse(spec).with_context(where + ": key 'columns'"));
    } else if (key == "default_type") {
      NUDGE_ASSIGN_OR_RETURN(o.default_type, want_string(v, key));
    } else if (key == "event_weights") {
      if (v.is_string()) {
        o.event_weights = v.get<std::string>();
      } else if (v.is_object()) {
        for (const auto& [type, w] : v.items()) {
          if (!w.is_number()) {
            return Status::invalid_argument(where + ": key 'event_weights." + type + "' must be a number");
          }
          o.event_weights += type + "=" + std::to_string(w.get<double>()) + ",";
        }
      } else {
        return Status::invalid_argument(where + ": key 'event_weights' must be an object or a string");
      }
    } else if (key == "timestamp_unit") {
      NUDGE_ASSIGN_OR_RETURN(std::string unit, want_string(v, key));
      if (unit != "s" && unit != "ms")
        return Status::invalid_argument(where + ": key 'timestamp_unit' must be \"s\" or \"ms\"");
      o.timestamp_millis = unit == "ms";
    } else if (key == "strict") {
      NUDGE_ASSIGN_OR_RETURN(o.strict, want_bool(v, key));
    } else if (key == "max_rejects_kept") {
      if (!v.is_number_unsigned()) return Status::invalid_argument(where + ": key 'max_rejects_kept' must be a count");
      o.max_rejects_kept = v.get<size_t>();
    } else {
      return Status::invalid_argument(where + ": unknown key '" + key +
                                      "' (known: format, delimiter, header, columns, default_type, event_weights, "
                                      "timestamp_unit, strict, max_rejects_kept)");
    }
  }
  return o;
}

Result<ReadOptions> read_options_from_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error("cannot open read config '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return read_options_from_json_text(ss.str(), path);
}

std::string ReadReport::summary(std::string_view name) const {
  std::string s = "read " + std::string(name) + ": " + std::to_string(rows_kept) + " rows kept, " +
                  std::to_string(rows_rejected) + " rejected";
  if (!rejects.empty()) s += " (first: " + rejects.front().place + ": " + rejects.front().reason + ")";
  return s;
}

Status ReadReport::write_rejects(const std::string& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::io_error("cannot write rejects report '" + path + "'");
  for (const auto& r : rejects) out << r.place << '\t' << r.reason << '\n';
  out.flush();
  if (!out) return Status::io_error("error writing rejects report '" + path + "'");
  return Status::ok();
}

}  // namespace nudge
