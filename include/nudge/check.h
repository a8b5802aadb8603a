// NUDGE_CHECK and NUDGE_ASSERT: the two non-input failure kinds.
//
// NUDGE_CHECK(cond, msg): misuse of the C++ API by the caller (wrong sizes, calling value()
// on an error). Throws nudge::UsageError, which tests can expect.
// NUDGE_ASSERT(cond): a broken internal invariant, i.e. a bug in Nudge. Prints and aborts.
#pragma once

#include <stdexcept>
#include <string>

namespace nudge {

class UsageError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

[[noreturn]] void throw_usage_error(const char* file, int line, const std::string& message);
[[noreturn]] void abort_on_assert(const char* file, int line, const char* condition);

}  // namespace nudge

#define NUDGE_CHECK(cond, msg)                                          \
  do {                                                                  \
    if (!(cond)) ::nudge::throw_usage_error(__FILE__, __LINE__, (msg)); \
  } while (0)

#define NUDGE_ASSERT(cond)                                            \
  do {                                                                \
    if (!(cond)) ::nudge::abort_on_assert(__FILE__, __LINE__, #cond); \
  } while (0)
