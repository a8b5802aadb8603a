#include <gtest/gtest.h>

#include "nudge/readers.h"
#include "test_util.h"

namespace nudge {
namespace {

TEST(ReadOptionsTest, JsonConfigSetsEveryField) {
  auto o = read_options_from_json_text(R"({"format": "csv", "delimiter": ";", "header": true,
      "columns": {"user": "uid", "item": 2}, "default_type": "view", "event_weights": {"view": 2},
      "timestamp_unit": "ms", "strict": true, "max_rejects_kept": 5})",
                                       "read.json");
  ASSERT_OK(o.status());
  EXPECT_EQ(o->format, InputFormat::kCsv);
  EXPECT_EQ(o->delimiter, ";");
  EXPECT_EQ(o->header, HeaderMode::kYes);
  EXPECT_EQ(o->columns.user, "uid");
  EXPECT_EQ(o->columns.item, "2");
  EXPECT_EQ(o->default_type, "view");
  EXPECT_TRUE(o->timestamp_millis);
  EXPECT_TRUE(o->strict);
  EXPECT_EQ(o->max_rejects_kept, 5u);
  EventTypes t;
  ASSERT_OK(t.parse_weights(o->event_weights));
  EXPECT_EQ(t.weight(*t.find("view")), 2.f);
}

TEST(ReadOptionsTest, JsonConfigErrorsNameFileAndKey) {
  EXPECT_EQ(read_options_from_json_text(R"({"colums": {}})", "r.json").status().to_string(),
            "invalid argument: r.json: unknown key 'colums' (known: format, delimiter, header, columns, default_type, "
            "event_weights, timestamp_unit, strict, max_rejects_kept)");
  EXPECT_EQ(read_options_from_json_text(R"({"strict": "yes"})", "r.json").status().to_string(),
            "invalid argument: r.json: key 'strict' must be true or false");
  EXPECT_EQ(
      read_options_from_json_text(R"({"format": "xml"})", "r.json").status().to_string(),
      "invalid argument: r.json: key 'format': unknown input format 'xml' (known: auto, csv, tsv, jsonl, ml-100k, "
      "ml-1m, ml-csv)");
  EXPECT_EQ(read_options_from_json_text(R"({"columns": {"shop": "x"}})", "r.json").status().to_string(),
            "invalid argument: r.json: key 'columns': column mapping: unknown role 'shop' (known: user, item, value, "
            "timestamp, type)");
  EXPECT_NE(read_options_from_json_text("{oops", "r.json").status().message().find("r.json: invalid JSON"),
            std::string::npos);
  // Found by fuzz_text_configs: a number too large for a double threw out of the reader.
  EXPECT_NE(read_options_from_json_text(R"({"max_rejects_kept": 443e829})", "r.json")
                .status()
                .message()
                .find("r.json: invalid JSON: [json.exception.out_of_range.406] number overflow"),
            std::string::npos);
}

TEST(ReadOptionsTest, ColumnMappingParse) {
  ColumnMapping m;
  ASSERT_OK(m.parse(" user = a , item=b,timestamp=4"));
  EXPECT_EQ(m.user, "a");
  EXPECT_EQ(m.timestamp, "4");
  EXPECT_EQ(m.parse("user").to_string(), "invalid argument: column mapping: expected role=column, got 'user'");
  EXPECT_EQ(m.parse("item=").to_string(), "invalid argument: column mapping: empty column for 'item'");
}

TEST(ReadOptionsTest, RejectsReportFile) {
  testing::TempDir dir;
  ReadReport r;
  r.rejects = {{"a.csv:2", "bad"}, {"a.csv:9", "worse"}};
  ASSERT_OK(r.write_rejects(dir.file("rejects.tsv")));
  EXPECT_EQ(testing::read_file(dir.file("rejects.tsv")), "a.csv:2\tbad\na.csv:9\tworse\n");
}

}  // namespace
}  // namespace nudge
