#include "common/text.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace nudge {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_view(std::string_view s, char delimiter) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t pos = s.find(delimiter, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::optional<double> parse_double(std::string_view s) {
  if (s.empty()) return std::nullopt;
  if (s.front() == '+') s.remove_prefix(1);
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<int64_t> parse_int64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  if (s.front() == '+') s.remove_prefix(1);
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> parse_duration(std::string_view s) {
  s = trim(s);
  double unit = 1;
  if (!s.empty()) {
    switch (s.back()) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      default: unit = 0; break;
    }
    if (unit != 0) s.remove_suffix(1);
    else unit = 1;
  }
  const auto v = parse_double(s);
  if (!v || !std::isfinite(*v) || *v < 0) return std::nullopt;
  return *v * unit;
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

namespace {

// Reads exactly `n` digits at s[pos...]; advances pos.
std::optional<unsigned> digits(std::string_view s, size_t& pos, size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  unsigned v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  pos += n;
  return v;
}

std::optional<int64_t> parse_iso8601(std::string_view s) {
  size_t pos = 0;
  auto year = digits(s, pos, 4);
  if (!year || pos >= s.size() || s[pos++] != '-') return std::nullopt;
  auto month = digits(s, pos, 2);
  if (!month || pos >= s.size() || s[pos++] != '-') return std::nullopt;
  auto day = digits(s, pos, 2);
  if (!day || *month < 1 || *month > 12 || *day < 1 || *day > 31) return std::nullopt;
  int64_t seconds = days_from_civil(*year, *month, *day) * 86400;
  if (pos == s.size()) return seconds;
  if (s[pos] != 'T' && s[pos] != ' ') return std::nullopt;
  ++pos;
  auto hh = digits(s, pos, 2);
  if (!hh || pos >= s.size() || s[pos++] != ':') return std::nullopt;
  auto mm = digits(s, pos, 2);
  if (!mm || *hh > 23 || *mm > 59) return std::nullopt;
  unsigned ss = 0;
  if (pos < s.size() && s[pos] == ':') {
    ++pos;
    auto sec = digits(s, pos, 2);
    if (!sec || *sec > 60) return std::nullopt;
    ss = *sec;
    if (pos < s.size() && s[pos] == '.') {  // fractional seconds are dropped
      ++pos;
      const size_t frac_start = pos;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
      if (pos == frac_start) return std::nullopt;
    }
  }
  seconds += *hh * 3600 + *mm * 60 + ss;
  if (pos == s.size()) return seconds;
  if (s[pos] == 'Z' && pos + 1 == s.size()) return seconds;
  if (s[pos] == '+' || s[pos] == '-') {
    const int sign = s[pos] == '+' ? 1 : -1;
    ++pos;
    auto oh = digits(s, pos, 2);
    if (!oh) return std::nullopt;
    if (pos < s.size() && s[pos] == ':') ++pos;
    auto om = digits(s, pos, 2);
    if (!om || pos != s.size()) return std::nullopt;
    return seconds - sign * static_cast<int64_t>(*oh * 3600 + *om * 60);
  }
  return std::nullopt;
}

}  // namespace

std::optional<int64_t> parse_timestamp(std::string_view s, bool millis) {
  s = trim(s);
  if (auto i = parse_int64(s)) return millis ? *i / 1000 : *i;
  if (auto d = parse_double(s); d && std::isfinite(*d)) {
    const double secs = millis ? *d / 1000.0 : *d;
    if (std::fabs(secs) < 9.2e18) return static_cast<int64_t>(std::floor(secs));
    return std::nullopt;
  }
  return parse_iso8601(s);
}

std::string quote_for_error(std::string_view s) {
  if (s.size() > 40) return "'" + std::string(s.substr(0, 37)) + "...'";
  return "'" + std::string(s) + "'";
}

}  // namespace nudge

namespace nudge {
std::string fmt_number(double v) {
  char buf[32];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, p);
}
}  // namespace nudge
