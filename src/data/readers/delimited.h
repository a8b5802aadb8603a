// Splitting one delimited line into fields (internal to the readers).
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "nudge/status.h"

namespace nudge {

class FieldSplitter {
 public:
  // quoting: honour RFC 4180 double quotes ("a, b", "say ""hi""").
  FieldSplitter(std::string delimiter, bool quoting) : delimiter_(std::move(delimiter)), quoting_(quoting) {}
  // Splits `line`; views stay valid until the next call. Unquoted fields are trimmed of
  // spaces and tabs, quoted ones kept exactly. Errors describe the quoting problem.
  Status split(std::string_view line, std::vector<std::string_view>* fields);

 private:
  std::string delimiter_;
  bool quoting_;
  std::deque<std::string> unescaped_;  // storage for quoted fields that contained ""
};

}  // namespace nudge
