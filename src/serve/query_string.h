// URL query strings: "a=1&b=x%20y" -> ordered (name, value) pairs, percent-decoded ('+' is a
// space). A malformed escape is an error naming the parameter.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nudge::serve {

struct QueryString {
  std::string path;
  std::vector<std::pair<std::string, std::string>> params;
};

// Splits a request target; nullopt with `bad_param` set when an escape is malformed.
std::optional<QueryString> parse_target(std::string_view target, std::string* bad_param);
// Percent-decodes; nullopt when an escape is malformed.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

}  // namespace nudge::serve
