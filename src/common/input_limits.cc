#include "nudge/input_limits.h"

#include <cmath>

namespace nudge {

std::optional<size_t> first_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    // Length and the range of the second byte (RFC 3629's table): this excludes overlong
    // forms (C0, C1, E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and code points past U+10FFFF.
    size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (i + len > n || p[i + 1] < lo || p[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k)
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return i;
    i += len;
  }
  return std::nullopt;
}

bool is_valid_utf8(std::string_view s) { return !first_invalid_utf8(s); }

std::optional<std::string> text_problem(std::string_view text, size_t max_bytes) {
  if (text.size() > max_bytes) return "longer than " + std::to_string(max_bytes) + " bytes";
  if (auto bad = first_invalid_utf8(text)) return "not valid UTF-8 (byte " + std::to_string(*bad + 1) + ")";
  return std::nullopt;
}

std::optional<std::string> id_problem(std::string_view id, size_t max_bytes) {
  if (id.empty()) return "empty ID";
  return text_problem(id, max_bytes);
}

std::optional<std::string> value_problem(double v) {
  if (!std::isfinite(v)) return "not a finite number";
  if (std::fabs(v) > kMaxAbsValue) return "out of range (|value| must be <= 1e9)";
  return std::nullopt;
}

std::optional<std::string> json_text_problem(std::string_view text, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\0') return "NUL byte at byte " + std::to_string(i + 1);
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth)
        return "nested deeper than " + std::to_string(max_depth) + " levels at byte " + std::to_string(i + 1);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

std::optional<std::string> timestamp_problem(int64_t seconds) {
  if (seconds < kMinTimestamp || seconds > kMaxTimestamp)
    return "out of range (seconds since the Unix epoch, 1970-01-01 to 9999-12-31)";
  return std::nullopt;
}

}  // namespace nudge
