// RowSink: the checks every interaction reader shares. A reader parses a line into fields;
// the sink validates them, interns IDs and types, appends the row, or records the reject.
// Internal to the readers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "nudge/readers.h"

namespace nudge {

class RejectLog {
 public:
  RejectLog(std::string_view name, bool strict, size_t max_kept, ReadReport& report)
      : name_(name), strict_(strict), max_kept_(max_kept), report_(report) {}
  // Records a bad row at `line`; returns an error in strict mode, OK otherwise.
  Status reject(uint64_t line, std::string reason);
  std::string place(uint64_t line) const { return name_ + ":" + std::to_string(line); }
  ReadReport& report() { return report_; }

 private:
  std::string name_;
  bool strict_;
  size_t max_kept_;
  ReadReport& report_;
};

struct RawRow {
  std::string_view user;
  std::string_view item;
  std::optional<std::string_view> type;
  std::optional<double> value;
  std::optional<int64_t> timestamp;
};

class RowSink {
 public:
  RowSink(DatasetBuilder& builder, RejectLog& log, EventType default_type)
      : builder_(builder), log_(log), default_type_(default_type) {}
  // Validates and appends; on a bad row, records it (and fails in strict mode).
  Status add(uint64_t line, const RawRow& row);

 private:
  DatasetBuilder& builder_;
  RejectLog& log_;
  EventType default_type_;
};

}  // namespace nudge
