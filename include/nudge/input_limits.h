// Input limits: the bounds every door checks before anything is stored -- the file readers,
// the HTTP API, bulk import and the event store's replay at startup -- so that invalid text
// and numbers out of range are refused where they enter, with an error naming the field,
// instead of crashing a JSON encoder or overflowing a model later.
//
// Each check returns nullopt when the input is fine, else the reason as a short phrase
// ("not valid UTF-8 (byte 3)") that the caller prefixes with the place (file:line, field).
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nudge {

inline constexpr size_t kMaxIdBytes = 256;              // user, item, category and tag IDs
inline constexpr size_t kMaxEventTypeBytes = 64;        // "view", "purchase", ...
inline constexpr double kMaxAbsValue = 1e9;             // an event's value, a rating, a weight
inline constexpr int64_t kMinTimestamp = 0;             // 1970-01-01T00:00:00Z
inline constexpr int64_t kMaxTimestamp = 253402300799;  // 9999-12-31T23:59:59Z
inline constexpr size_t kMaxJsonDepth = 64;             // nested arrays and objects in any JSON text

// Whole-string check of UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view s);
// Offset of the first byte that is not part of a valid UTF-8 sequence, or nullopt.
std::optional<size_t> first_invalid_utf8(std::string_view s);

// An ID (user, item, category, tag): 1 to kMaxIdBytes bytes of valid UTF-8.
std::optional<std::string> id_problem(std::string_view id, size_t max_bytes = kMaxIdBytes);
// Free text (user attributes, descriptions): valid UTF-8, at most `max_bytes`.
std::optional<std::string> text_problem(std::string_view text, size_t max_bytes);
// A value, rating or weight: finite and |v| <= kMaxAbsValue.
std::optional<std::string> value_problem(double v);
// Any JSON text before nlohmann parses it (HTTP bodies, user attributes, read configs, Kafka
// messages, report inputs; JSON Lines rows get the same kMaxJsonDepth from simdjson itself):
// no NUL byte (a parser would stop there and ignore the rest) and arrays/objects nested at
// most `max_depth` deep (deeper ones would overflow the stack of a recursive parser or
// encoder). One pass, no recursion; the place is "byte N".
std::optional<std::string> json_text_problem(std::string_view text, size_t max_depth = kMaxJsonDepth);
// Seconds since the Unix epoch within [kMinTimestamp, kMaxTimestamp].
std::optional<std::string> timestamp_problem(int64_t seconds);

}  // namespace nudge
