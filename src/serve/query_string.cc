#include "serve/query_string.h"

namespace nudge::serve {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t k = 0; k < s.size(); ++k) {
    if (s[k] == '%') {
      if (k + 2 >= s.size()) return std::nullopt;
      const int hi = hex_value(s[k + 1]), lo = hex_value(s[k + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      k += 2;
    } else if (s[k] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += s[k];
    }
  }
  return out;
}

std::optional<QueryString> parse_target(std::string_view target, std::string* bad_param) {
  QueryString q;
  const size_t mark = target.find('?');
  auto path = percent_decode(target.substr(0, mark), false);
  if (!path) {
    *bad_param = "path";
    return std::nullopt;
  }
  q.path = std::move(*path);
  if (mark == std::string_view::npos) return q;
  std::string_view rest = target.substr(mark + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    auto name = percent_decode(pair.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!name || !value) {
      *bad_param = name ? *name : std::string(pair.substr(0, eq));
      return std::nullopt;
    }
    q.params.emplace_back(std::move(*name), std::move(*value));
  }
  return q;
}

}  // namespace nudge::serve
