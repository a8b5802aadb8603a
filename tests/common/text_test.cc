#include "common/text.h"

#include <gtest/gtest.h>

namespace nudge {
namespace {

TEST(TextTest, ParseNumbersRejectsTrailingGarbage) {
  EXPECT_EQ(parse_double("3.5"), 3.5);
  EXPECT_EQ(parse_double("+2"), 2.0);
  EXPECT_FALSE(parse_double("3.5x").has_value());
  EXPECT_FALSE(parse_double("").has_value());
  EXPECT_EQ(parse_int64("-12"), -12);
  EXPECT_FALSE(parse_int64("12.0").has_value());
}

TEST(TextTest, TimestampsFromNumbersAndIso8601) {
  EXPECT_EQ(parse_timestamp("978300760", false), 978300760);
  EXPECT_EQ(parse_timestamp("978300760123", true), 978300760);
  EXPECT_EQ(parse_timestamp("978300760.9", false), 978300760);
  EXPECT_EQ(parse_timestamp("1970-01-02", false), 86400);
  EXPECT_EQ(parse_timestamp("2000-03-01T00:00:00Z", false), 951868800);
  EXPECT_EQ(parse_timestamp("2000-03-01 01:02:03", false), 951868800 + 3723);
  EXPECT_EQ(parse_timestamp("2000-03-01T01:02:03.250+01:00", false), 951868800 + 3723 - 3600);
  EXPECT_EQ(parse_timestamp("2024-02-29T12:00", false), 1709208000);
  EXPECT_FALSE(parse_timestamp("2020-13-01", false).has_value());
  EXPECT_FALSE(parse_timestamp("yesterday", false).has_value());
  EXPECT_FALSE(parse_timestamp("2020-01-01T10:00:00Zjunk", false).has_value());
}

TEST(TextTest, DurationsWithUnits) {
  EXPECT_EQ(parse_duration("90"), 90.0);
  EXPECT_EQ(parse_duration("90s"), 90.0);
  EXPECT_EQ(parse_duration("10m"), 600.0);
  EXPECT_EQ(parse_duration(" 1.5h "), 5400.0);
  EXPECT_EQ(parse_duration("7d"), 7 * 86400.0);
  for (const char* bad : {"", "m", "-5s", "10x", "1e999", "nan", "10 m"}) EXPECT_FALSE(parse_duration(bad)) << bad;
}

TEST(TextTest, DaysFromCivilKnownDates) {
  EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(days_from_civil(2000, 1, 1), 10957);
  EXPECT_EQ(days_from_civil(1969, 12, 31), -1);
}

TEST(TextTest, SplitAndTrim) {
  EXPECT_EQ(split_view("a,,b", ',').size(), 3u);
  EXPECT_EQ(trim("  x\t\r"), "x");
  EXPECT_EQ(quote_for_error(std::string(50, 'a')), "'" + std::string(37, 'a') + "...'");
}

}  // namespace
}  // namespace nudge
