#include "serve/event_json.h"

#include "nudge/input_limits.h"

namespace nudge::serve {

using nlohmann::json;

namespace {

// One event object from a body; `at` is "events[3]".
Status parse_event(const json& j, const std::string& at, Event* e) {
  if (!j.is_object()) return Status::invalid_field(at, "expected an object");
  for (const auto& [key, value] : j.items()) {
    const std::string field = at + "." + key;
    if (key == "user" || key == "item" || key == "type" || key == "rec_id") {
      if (!value.is_string()) return Status::invalid_field(field, "expected a string");
      (key == "user"   ? e->user
       : key == "item" ? e->item
       : key == "type" ? e->type
                       : e->rec_id) = value.get<std::string>();
    } else if (key == "value") {
      if (!value.is_number()) return Status::invalid_field(field, "expected a number");
      // Checked as a double: a float would turn 1e300 into inf before the check sees it.
      const double v = value.get<double>();
      if (auto why = value_problem(v)) return Status::invalid_field(field, *why);
      e->value = static_cast<float>(v);
    } else if (key == "timestamp") {
      if (!value.is_number_integer() && !value.is_number_unsigned())
        return Status::invalid_field(field, "expected whole seconds since the Unix epoch");
      e->timestamp = value.is_number_unsigned() && value.get<uint64_t>() > INT64_MAX ? -1 : value.get<int64_t>();
    } else {
      return Status::invalid_field(field, "unknown field");
    }
  }
  if (e->user.empty() && !j.contains("user")) return Status::invalid_field(at + ".user", "required");
  if (e->item.empty() && !j.contains("item")) return Status::invalid_field(at + ".item", "required");
  return Status::ok();
}

}  // namespace

Result<json> parse_json_body(std::string_view body, const char* empty) {
  if (auto why = json_text_problem(body)) return Status::invalid_field("body", "malformed JSON: " + *why);
  json doc = json::parse(body.empty() ? std::string_view(empty) : std::string_view(body), nullptr, false);
  if (!doc.is_discarded()) return doc;
  // Parse again with exceptions for the place of the mistake. A number too large for a
  // double (1e400) is an out_of_range error, not a parse_error, and has no byte position.
  try {
    json::parse(body.begin(), body.end()).clear();
  } catch (const json::parse_error& e) {
    return Status::invalid_field("body", "malformed JSON at byte " + std::to_string(e.byte));
  } catch (const json::exception& e) {
    std::string what = e.what();
    if (const size_t p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    return Status::invalid_field("body", "malformed JSON: " + what);
  }
  return Status::invalid_field("body", "malformed JSON");
}

Result<std::vector<Event>> parse_events(std::string_view body, size_t max_events) {
  NUDGE_ASSIGN_OR_RETURN(const json doc, parse_json_body(body, ""));
  const json* list = &doc;
  const std::string prefix = "events";
  std::vector<Event> events;
  if (doc.is_object() && doc.contains("events")) {
    if (doc.size() != 1) return Status::invalid_field("body", "only \"events\" is expected next to the list");
    list = &doc.at("events");
  } else if (doc.is_object()) {
    events.emplace_back();
    NUDGE_RETURN_IF_ERROR(parse_event(doc, "event", &events.back()));
    return events;
  }
  if (!list->is_array()) return Status::invalid_field("events", "expected an event object or a list of them");
  if (list->empty()) return Status::invalid_field("events", "empty list");
  if (list->size() > max_events)
    return Status::too_large("more than " + std::to_string(max_events) + " events in one request").with_field("events");
  events.resize(list->size());
  for (size_t k = 0; k < list->size(); ++k)
    NUDGE_RETURN_IF_ERROR(parse_event((*list)[k], prefix + "[" + std::to_string(k) + "]", &events[k]));
  return events;
}

}  // namespace nudge::serve
