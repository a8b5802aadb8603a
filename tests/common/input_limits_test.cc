#include "nudge/input_limits.h"

#include <gtest/gtest.h>

#include <cmath>

namespace nudge {
namespace {

TEST(InputLimits, Utf8AcceptsEveryValidLength) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("caf\xC3\xA9"));                // U+00E9
  EXPECT_TRUE(is_valid_utf8("\xE2\x82\xAC"));               // U+20AC
  EXPECT_TRUE(is_valid_utf8("\xF0\x9F\x98\x80"));           // U+1F600
  EXPECT_TRUE(is_valid_utf8("\xF4\x8F\xBF\xBF"));           // U+10FFFF, the last one
  EXPECT_TRUE(is_valid_utf8(std::string_view("a\0b", 3)));  // NUL is valid UTF-8
}

TEST(InputLimits, Utf8RejectsMalformedSequencesAtTheirByte) {
  EXPECT_EQ(first_invalid_utf8("\xFF"), 0u);
  EXPECT_EQ(first_invalid_utf8("ab\x80"), 2u);                // lone continuation byte
  EXPECT_EQ(first_invalid_utf8("\xC0\x80"), 0u);              // overlong NUL
  EXPECT_EQ(first_invalid_utf8("\xE0\x80\xAF"), 0u);          // overlong '/'
  EXPECT_EQ(first_invalid_utf8("x\xED\xA0\x80"), 1u);         // surrogate U+D800
  EXPECT_EQ(first_invalid_utf8("\xF4\x90\x80\x80"), 0u);      // above U+10FFFF
  EXPECT_EQ(first_invalid_utf8("\xF8\x88\x80\x80\x80"), 0u);  // five-byte form
  EXPECT_EQ(first_invalid_utf8("\xE2\x82"), 0u);              // truncated at the end
  EXPECT_EQ(first_invalid_utf8("\xE2\x28\xA1"), 0u);          // bad second byte
  EXPECT_EQ(first_invalid_utf8("\xF0\x9F\x98\x28"), 0u);      // bad fourth byte
}

TEST(InputLimits, ProblemsAreShortPhrases) {
  EXPECT_EQ(id_problem(""), "empty ID");
  EXPECT_EQ(id_problem("ok"), std::nullopt);
  EXPECT_EQ(id_problem("bad\xff"), "not valid UTF-8 (byte 4)");
  EXPECT_EQ(id_problem(std::string(kMaxIdBytes, 'x')), std::nullopt);
  EXPECT_EQ(id_problem(std::string(kMaxIdBytes + 1, 'x')), "longer than 256 bytes");
  EXPECT_EQ(value_problem(1e9), std::nullopt);
  EXPECT_EQ(value_problem(-3.5), std::nullopt);
  EXPECT_EQ(value_problem(1e308), "out of range (|value| must be <= 1e9)");
  EXPECT_EQ(value_problem(std::nan("")), "not a finite number");
  EXPECT_EQ(timestamp_problem(0), std::nullopt);
  EXPECT_EQ(timestamp_problem(kMaxTimestamp), std::nullopt);
  EXPECT_TRUE(timestamp_problem(kMaxTimestamp + 1));
  EXPECT_TRUE(timestamp_problem(-1));
  EXPECT_TRUE(timestamp_problem(INT64_MIN));
}

}  // namespace
}  // namespace nudge
