#include "nudge/status.h"

#include <gtest/gtest.h>

namespace nudge {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return Status::invalid_argument("value must be > 0, got " + std::to_string(v));
  return v;
}

Result<int> doubled(int v) {
  NUDGE_ASSIGN_OR_RETURN(int x, parse_positive(v));
  return 2 * x;
}

TEST(StatusTest, OkAndErrorsCarryCodeAndMessage) {
  EXPECT_TRUE(Status::ok().is_ok());
  EXPECT_EQ(Status::ok().to_string(), "ok");
  const Status s = Status::io_error("cannot open 'x'");
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  EXPECT_EQ(s.to_string(), "I/O error: cannot open 'x'");
  EXPECT_EQ(s.with_context("loading").to_string(), "I/O error: loading: cannot open 'x'");
  EXPECT_EQ(Status::internal("retrain: bad_alloc").to_string(), "internal error: retrain: bad_alloc");
}

TEST(StatusTest, AnErrorAboutOneFieldNamesIt) {
  const Status s = Status::invalid_field("k", "must be between 1 and 1000");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.field(), "k");
  EXPECT_EQ(s.message(), "must be between 1 and 1000");
  EXPECT_EQ(s.to_string(), "invalid argument: k: must be between 1 and 1000");
  EXPECT_EQ(s.with_context("recommend").field(), "k");  // context keeps the field
  const Status missing = Status::not_found("unknown item 'x'").with_field("pin");
  EXPECT_EQ(missing.code(), Status::Code::kNotFound);
  EXPECT_EQ(missing.field(), "pin");
  EXPECT_TRUE(Status::ok().with_field("k").field().empty());  // OK names nothing
  EXPECT_TRUE(Status::io_error("disk").field().empty());
  EXPECT_EQ(Status::too_large("more than 10 events").to_string(), "too large: more than 10 events");
}

TEST(StatusTest, ResultPropagatesThroughMacros) {
  EXPECT_EQ(doubled(4).value(), 8);
  const Result<int> r = doubled(-1);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().to_string(), "invalid argument: value must be > 0, got -1");
}

TEST(StatusTest, ValueOfAnErrorIsAUsageError) {
  Result<int> r = Status::not_found("nope");
  EXPECT_THROW(r.value(), UsageError);
  EXPECT_THROW(Result<int>{Status::ok()}, UsageError);
}

}  // namespace
}  // namespace nudge
