// The JSON form of events, shared by every way events arrive: the body of POST /v1/events
// (http_api.cc) and the payload of a Kafka message (kafka_source.cc). One event object or
// {"events": [...]}; fields user, item (required), type, value, timestamp, rec_id; anything else is an
// error naming the field ("events[3].value"). Values are checked here; IDs by Engine::validate.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "nudge/status.h"
#include "serve/event_store.h"

namespace nudge::serve {

// The body as JSON, or an error saying where it breaks (field "body"). An empty body reads
// as `empty`.
Result<nlohmann::json> parse_json_body(std::string_view body, const char* empty);

// The events of one body; more than `max_events` is TooLarge.
Result<std::vector<Event>> parse_events(std::string_view body, size_t max_events);

}  // namespace nudge::serve
