// Internal text helpers shared by every module: splitting, trimming, number and time parsing.
// None of them allocate except split_view's result vector.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nudge {

std::string_view trim(std::string_view s);
std::vector<std::string_view> split_view(std::string_view s, char delimiter);

// Whole-string parses; nullopt on any trailing garbage. parse_double accepts "nan"/"inf"
// (callers decide whether those are allowed).
std::optional<double> parse_double(std::string_view s);
std::optional<int64_t> parse_int64(std::string_view s);

// Seconds since the Unix epoch from an integer or decimal number ("978300760", "978300760.5")
// or an ISO-8601 date/time in UTC ("2020-01-02", "2020-01-02T03:04:05Z", "2020-01-02 03:04:05",
// with optional fractional seconds and a +hh:mm offset). `millis` scales plain numbers by 1/1000.
std::optional<int64_t> parse_timestamp(std::string_view s, bool millis);

// Seconds from a duration: a non-negative number with an optional unit s, m, h or d ("90",
// "90s", "10m", "1.5h", "7d"). nullopt on anything else.
std::optional<double> parse_duration(std::string_view s);

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);

// For error messages: the value quoted and cut to 40 characters.
std::string quote_for_error(std::string_view s);

}  // namespace nudge

namespace nudge {
// Shortest text that reads back as the same double ("0.1", "1e-06", "64").
std::string fmt_number(double v);
}  // namespace nudge
