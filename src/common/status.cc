#include "nudge/status.h"

#include <cstdio>
#include <cstdlib>

namespace nudge {

std::string_view code_name(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "ok";
    case Status::Code::kInvalidArgument: return "invalid argument";
    case Status::Code::kNotFound: return "not found";
    case Status::Code::kIoError: return "I/O error";
    case Status::Code::kCorruption: return "corruption";
    case Status::Code::kUnsupported: return "unsupported";
    case Status::Code::kInternal: return "internal error";
    case Status::Code::kTooLarge: return "too large";
    case Status::Code::kNoSpace: return "no space";
    case Status::Code::kDeadlineExceeded: return "deadline exceeded";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  std::string out(code_name(code_));
  out += ": ";
  if (!field_.empty()) out += field_ + ": ";
  return out + message_;
}

Status Status::with_context(std::string_view context) const {
  if (is_ok()) return *this;
  Status s(code_, std::string(context) + ": " + message_);
  s.field_ = field_;
  return s;
}

Status Status::with_field(std::string field) const {
  if (is_ok()) return *this;
  Status s = *this;
  s.field_ = std::move(field);
  return s;
}

void throw_usage_error(const char* file, int line, const std::string& message) {
  throw UsageError(std::string(file) + ":" + std::to_string(line) + ": " + message);
}

void abort_on_assert(const char* file, int line, const char* condition) {
  std::fprintf(stderr, "nudge: internal invariant broken at %s:%d: %s\n", file, line, condition);
  std::abort();
}

}  // namespace nudge
