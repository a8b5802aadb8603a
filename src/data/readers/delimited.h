// Splitting one delimited record into fields (internal to the readers).
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "line_source.h"
#include "nudge/status.h"

namespace nudge {

class FieldSplitter {
 public:
  // quoting: honour RFC 4180 double quotes ("a, b", "say ""hi""").
  FieldSplitter(std::string delimiter, bool quoting) : delimiter_(std::move(delimiter)), quoting_(quoting) {}
  // Splits `line`; views stay valid until the next call. Unquoted fields are trimmed of
  // spaces and tabs, quoted ones kept exactly. Errors describe the quoting problem.
  Status split(std::string_view line, std::vector<std::string_view>* fields);
  // RFC 4180 lets a quoted field hold newlines: while `*record` ends inside an open quoted
  // field, appends "\n" and the next line of `src` (into `storage`, which *record then views),
  // counting each line in *lines_seen. Stops at the end of the file or past kMaxRecordBytes;
  // split() then reports the unterminated field.
  void complete_record(LineSource& src, std::string_view* record, std::string* storage, uint64_t* lines_seen) const;
  static constexpr size_t kMaxRecordBytes = 1 << 20;

 private:
  bool ends_inside_quotes(std::string_view record) const;
  std::string delimiter_;
  bool quoting_;
  std::deque<std::string> unescaped_;  // storage for quoted fields that contained ""
};

}  // namespace nudge
