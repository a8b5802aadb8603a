// Status and Result<T>: how Nudge reports bad input.
//
// Bad input (files, requests, model files) never throws: functions return a Status, or a
// Result<T> holding either a value or a Status. Messages name the place (file:line, field)
// and, where possible, the fix. Misuse of the API is caught by NUDGE_CHECK (see check.h).
//
// This is the one error vocabulary of every layer, the serving engine included. A Status
// about one field of a request or record carries that field's name (field()), so the HTTP
// layer, the only one that knows status codes, can answer {"field": ..., "error": ...}.
//
// Thread-safety: Status and Result are plain values; distinct objects may be used from
// different threads.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "nudge/check.h"

namespace nudge {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,
    kNotFound,
    kIoError,
    kCorruption,
    kUnsupported,
    kInternal,
    kTooLarge,
    kNoSpace,
    kDeadlineExceeded
  };

  Status() = default;  // OK
  static Status ok() { return Status(); }
  static Status invalid_argument(std::string message) { return {Code::kInvalidArgument, std::move(message)}; }
  static Status not_found(std::string message) { return {Code::kNotFound, std::move(message)}; }
  static Status io_error(std::string message) { return {Code::kIoError, std::move(message)}; }
  static Status corruption(std::string message) { return {Code::kCorruption, std::move(message)}; }
  static Status unsupported(std::string message) { return {Code::kUnsupported, std::move(message)}; }
  // A bug caught at a boundary (an exception where none was expected).
  static Status internal(std::string message) { return {Code::kInternal, std::move(message)}; }
  // More input in one piece than a limit allows (a request with too many events).
  static Status too_large(std::string message) { return {Code::kTooLarge, std::move(message)}; }
  // Storage is full: nothing was written; the same request may succeed once space returns.
  static Status no_space(std::string message) { return {Code::kNoSpace, std::move(message)}; }
  // No answer in time, and the work may still complete (a message sent, not confirmed).
  static Status deadline_exceeded(std::string message) { return {Code::kDeadlineExceeded, std::move(message)}; }
  // A bad value in one named field of a request or record: invalid_field("k", "must be ...").
  static Status invalid_field(std::string field, std::string message) {
    return Status(Code::kInvalidArgument, std::move(message)).with_field(std::move(field));
  }

  bool is_ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // The request or record field the error concerns ("k", "events[3].value"); empty if none.
  const std::string& field() const { return field_; }
  // "invalid argument: ratings.csv:12: field 'rating': not a number: 'x'", or with a field
  // set, "invalid argument: k: must be between 1 and 1000".
  std::string to_string() const;
  // Returns a copy whose message is prefixed with `context` ("loading model: ...").
  Status with_context(std::string_view context) const;
  // Returns a copy that names `field` (a no-op on OK).
  Status with_field(std::string field) const;

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  Code code_ = Code::kOk;
  std::string message_;
  std::string field_;
};

std::string_view code_name(Status::Code code);

// Either a T or a non-OK Status. Accessing value() of an error is API misuse (NUDGE_CHECK).
template <typename T>
class Result {
 public:
  Result(T value) : state_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : state_(std::move(status)) {  // NOLINT: implicit by design
    NUDGE_CHECK(!std::get<Status>(state_).is_ok(), "Result constructed from an OK Status");
  }

  bool is_ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(state_);
  }
  T& value() & {
    NUDGE_CHECK(is_ok(), "value() of an error Result: " + std::get<Status>(state_).to_string());
    return std::get<T>(state_);
  }
  const T& value() const& {
    NUDGE_CHECK(is_ok(), "value() of an error Result: " + std::get<Status>(state_).to_string());
    return std::get<T>(state_);
  }
  T&& value() && {
    NUDGE_CHECK(is_ok(), "value() of an error Result: " + std::get<Status>(state_).to_string());
    return std::get<T>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace nudge

#define NUDGE_CONCAT_INNER(a, b) a##b
#define NUDGE_CONCAT(a, b) NUDGE_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when `expr` is not OK.
#define NUDGE_RETURN_IF_ERROR(expr)                   \
  do {                                                \
    ::nudge::Status nudge_status_ = (expr);           \
    if (!nudge_status_.is_ok()) return nudge_status_; \
  } while (0)

// `NUDGE_ASSIGN_OR_RETURN(auto x, make_x());` declares x from a Result or returns its Status.
// NOLINTBEGIN(bugprone-macro-parentheses): lhs is a declaration, tmp a name
#define NUDGE_ASSIGN_OR_RETURN(lhs, expr) NUDGE_ASSIGN_OR_RETURN_IMPL(NUDGE_CONCAT(nudge_result_, __LINE__), lhs, expr)
#define NUDGE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.is_ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
