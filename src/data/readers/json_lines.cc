// JSON Lines parsed with simdjson (about 10x nlohmann's speed); a line simdjson rejects is
// parsed again with nlohmann only to describe the error by line and column.
#include "json_lines.h"

#include <simdjson.h>
#include <nlohmann/json.hpp>

#include "columns.h"
#include "common/text.h"
#include "nudge/input_limits.h"

namespace nudge {
namespace {

std::string describe_bad_json(std::string_view line, simdjson::error_code error) {
  if (error == simdjson::DEPTH_ERROR)
    return "invalid JSON: nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
  try {
    [[maybe_unused]] const auto parsed = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e400
    std::string what = e.what();
    if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    return "invalid JSON: " + what;
  }
  return std::string("invalid JSON: ") + simdjson::error_message(error);
}

// "abc" or 123 -> the ID text; anything else -> nullopt.
std::optional<std::string_view> json_id(simdjson::dom::element v, std::string& storage) {
  switch (v.type()) {
    case simdjson::dom::element_type::STRING: return std::string_view(v.get_string().value_unsafe());
    case simdjson::dom::element_type::INT64: storage = std::to_string(v.get_int64().value_unsafe()); return storage;
    case simdjson::dom::element_type::UINT64: storage = std::to_string(v.get_uint64().value_unsafe()); return storage;
    default: return std::nullopt;
  }
}

std::optional<double> json_number(simdjson::dom::element v) {
  switch (v.type()) {
    case simdjson::dom::element_type::INT64: return static_cast<double>(v.get_int64().value_unsafe());
    case simdjson::dom::element_type::UINT64: return static_cast<double>(v.get_uint64().value_unsafe());
    case simdjson::dom::element_type::DOUBLE: return v.get_double().value_unsafe();
    case simdjson::dom::element_type::STRING: return parse_double(trim(v.get_string().value_unsafe()));
    default: return std::nullopt;
  }
}

std::optional<int64_t> json_timestamp(simdjson::dom::element v, bool millis) {
  switch (v.type()) {
    case simdjson::dom::element_type::INT64: {
      const int64_t t = v.get_int64().value_unsafe();
      return millis ? t / 1000 : t;
    }
    case simdjson::dom::element_type::UINT64:
    case simdjson::dom::element_type::DOUBLE: return parse_timestamp(simdjson::minify(v), millis);
    case simdjson::dom::element_type::STRING: return parse_timestamp(v.get_string().value_unsafe(), millis);
    default: return std::nullopt;
  }
}

}  // namespace

Status read_json_lines(LineSource& src, std::string_view first_line, const ReadOptions& options,
                       DatasetBuilder& builder, RejectLog& log) {
  const auto specs = specs_of(options.columns);
  for (int r = 0; r < kNumRoles; ++r) {
    if (is_position(specs[r])) {
      return Status::invalid_argument("JSON Lines columns are keys, not positions (" + std::string(kRoleNames[r]) +
                                      "=" + specs[r] + ")");
    }
  }
  // Key of each role: the mapped one, else the first usual name seen (then remembered).
  std::array<std::string, kNumRoles> keys = specs;
  std::optional<EventType> default_type;
  // The nesting limit every JSON door has (input_limits.h), kept by simdjson itself as it
  // parses (it does not recurse): no extra pass over each line. It also refuses a NUL byte,
  // since it parses the line by length.
  simdjson::dom::parser parser;
  if (parser.allocate(4096, kMaxJsonDepth) != simdjson::SUCCESS)
    return Status::io_error("JSON Lines: cannot allocate the parser");
  std::string padded;
  std::string id_storage[2];

  auto process = [&](uint64_t no, std::string_view line) -> Status {
    padded.reserve(line.size() + simdjson::SIMDJSON_PADDING);
    padded.assign(line);
    simdjson::dom::element doc;
    if (auto error = parser.parse(padded.data(), padded.size(), false).get(doc)) {
      return log.reject(no, describe_bad_json(line, error));
    }
    simdjson::dom::object obj;
    if (doc.get_object().get(obj)) return log.reject(no, "expected a JSON object");
    std::array<std::optional<simdjson::dom::element>, kNumRoles> found;
    std::array<std::string_view, kNumRoles> found_key;
    for (auto field : obj) {
      int role = kNumRoles;
      for (int r = 0; r < kNumRoles && role == kNumRoles; ++r) {
        if (field.key == keys[r]) role = r;
      }
      if (role == kNumRoles) {
        const Role alias_role = role_of_alias(lower(field.key));
        if (alias_role == kNumRoles || !specs[alias_role].empty()) continue;
        role = alias_role;
      }
      if (found[role]) continue;  // the first matching key wins
      found[role] = field.value;
      found_key[role] = field.key;
      if (keys[role].empty()) keys[role] = std::string(field.key);
    }
    RawRow row;
    for (int r : {kUser, kItem}) {
      if (!found[r]) {
        return log.reject(no, "field '" + std::string(kRoleNames[r]) + "' is missing" +
                                  (specs[r].empty() ? "" : " (key '" + specs[r] + "')"));
      }
      auto id = json_id(*found[r], id_storage[r]);
      if (!id) {
        return log.reject(no, "field '" + std::string(kRoleNames[r]) + "' (key '" + std::string(found_key[r]) +
                                  "'): must be a string or an integer");
      }
      (r == kUser ? row.user : row.item) = *id;
    }
    if (found[kValue]) {
      row.value = json_number(*found[kValue]);
      if (!row.value) {
        return log.reject(no, "field 'value' (key '" + std::string(found_key[kValue]) +
                                  "'): not a number: " + quote_for_error(simdjson::minify(*found[kValue])));
      }
    }
    if (found[kTimestamp]) {
      row.timestamp = json_timestamp(*found[kTimestamp], options.timestamp_millis);
      if (!row.timestamp) {
        return log.reject(no, "field 'timestamp' (key '" + std::string(found_key[kTimestamp]) +
                                  "'): not a timestamp: " + quote_for_error(simdjson::minify(*found[kTimestamp])));
      }
    }
    if (found[kType]) {
      std::string_view type;
      if (found[kType]->get_string().get(type)) {
        return log.reject(no, "field 'type' (key '" + std::string(found_key[kType]) + "'): must be a string");
      }
      row.type = type;
    }
    if (!default_type) {
      // Decided once, like a delimited file's columns: a value on the first row means ratings.
      NUDGE_ASSIGN_OR_RETURN(default_type, default_type_for(options, row.value.has_value(), builder.catalog()));
    }
    return RowSink(builder, log, *default_type).add(no, row);
  };

  NUDGE_RETURN_IF_ERROR(process(src.line_number(), first_line));
  std::string_view line;
  while (src.next_non_blank(&line, &log.report().lines)) NUDGE_RETURN_IF_ERROR(process(src.line_number(), line));
  return src.status();
}

}  // namespace nudge
