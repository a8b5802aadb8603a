#include <gtest/gtest.h>

#include "nudge/readers.h"
#include "test_util.h"

namespace nudge {
namespace {

struct Read {
  Status status;
  Dataset dataset;
  ReadReport report;
};

Read read_text(const std::string& text, const std::string& name, ReadOptions options = {}) {
  DatasetBuilder b;
  ReadReport report;
  Status s = read_interactions_text(text, name, options, b, report);
  return {s, b.build(), report};
}

std::string row(const Dataset& d, size_t r) {
  const auto& in = d.interactions();
  const auto& c = d.catalog();
  return c.users.id_of(in.users[r]) + "," + c.items.id_of(in.items[r]) + "," + c.event_types.name(in.types[r]) + "," +
         std::to_string(in.values[r]) + "," + std::to_string(in.timestamps[r]);
}

TEST(InteractionReaderTest, MovieLens100kTabSeparated) {
  auto r = read_text("196\t242\t3\t881250949\n186\t302\t3\t891717742\n", "u.data");
  ASSERT_OK(r.status);
  ASSERT_EQ(r.dataset.num_interactions(), 2u);
  EXPECT_EQ(row(r.dataset, 0), "196,242,rating,3.000000,881250949");
  EXPECT_EQ(r.report.rows_kept, 2u);
}

TEST(InteractionReaderTest, MovieLens1mDoubleColon) {
  auto r = read_text("1::1193::5::978300760\r\n1::661::3::978302109\r\n", "ratings.dat");
  ASSERT_OK(r.status);
  ASSERT_EQ(r.dataset.num_interactions(), 2u);
  EXPECT_EQ(row(r.dataset, 1), "1,661,rating,3.000000,978302109");
}

TEST(InteractionReaderTest, MovieLensCsvWithHeader) {
  auto r = read_text("userId,movieId,rating,timestamp\n1,307,3.5,1256677221\n1,481,3.5,1256677456\n", "ratings.csv");
  ASSERT_OK(r.status);
  ASSERT_EQ(r.dataset.num_interactions(), 2u);
  EXPECT_EQ(row(r.dataset, 0), "1,307,rating,3.500000,1256677221");
  EXPECT_EQ(r.report.lines, 3u);
}

TEST(InteractionReaderTest, GenericCsvWithMappingTypesAndQuotes) {
  ReadOptions o;
  ASSERT_OK(o.columns.parse("user=customer,item=sku,type=action,timestamp=when"));
  auto r = read_text(
      "when,customer,sku,action\n"
      "2024-01-01T00:00:00Z,\"Smith, J\",A1,view\n"
      "2024-01-01T00:01:00Z,\"say \"\"hi\"\"\",A2,purchase\n",
      "events.csv", o);
  ASSERT_OK(r.status);
  ASSERT_EQ(r.dataset.num_interactions(), 2u);
  EXPECT_EQ(row(r.dataset, 0), "Smith, J,A1,view,1.000000,1704067200");
  EXPECT_EQ(row(r.dataset, 1), "say \"hi\",A2,purchase,1.000000,1704067260");
  EXPECT_EQ(r.dataset.weight(1), 8.f);
}

TEST(InteractionReaderTest, PositionalColumnsWithoutHeader) {
  ReadOptions o;
  o.format = InputFormat::kCsv;
  ASSERT_OK(o.columns.parse("user=3,item=1"));
  o.default_type = "click";
  auto r = read_text("i9,x,u4\n", "plain.csv", o);
  ASSERT_OK(r.status);
  ASSERT_EQ(r.dataset.num_interactions(), 1u);
  EXPECT_EQ(row(r.dataset, 0), "u4,i9,click,1.000000,0");
}

TEST(InteractionReaderTest, MalformedRowsReportedWithPlaceAndReason) {
  const std::string text =
      "user_id,item_id,rating,timestamp\n"
      "u1,i1,4,100\n"
      "u2,i2\n"
      "u3,i3,abc,100\n"
      "u4,i4,nan,100\n"
      "u5,i5,3,yesterday\n"
      ",i6,3,100\n"
      "u7,,3,100\n"
      "\n"
      "u9,i9,5,2020-01-01\n"
      "\"u8,i8,3,100\n";
  auto r = read_text(text, "ratings.csv");
  ASSERT_OK(r.status);
  EXPECT_EQ(r.report.rows_kept, 2u);
  EXPECT_EQ(r.report.rows_rejected, 7u);
  ASSERT_EQ(r.report.rejects.size(), 7u);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"ratings.csv:3", "expected at least 4 fields, found 2"},
      {"ratings.csv:4", "field 'value' (column 'rating'): not a number: 'abc'"},
      {"ratings.csv:5", "field 'value': not a finite number"},
      {"ratings.csv:6", "field 'timestamp' (column 'timestamp'): not a timestamp: 'yesterday'"},
      {"ratings.csv:7", "field 'user': empty ID"},
      {"ratings.csv:8", "field 'item': empty ID"},
      {"ratings.csv:11", "unterminated quoted field starting at column 1"},
  };
  for (size_t k = 0; k < expected.size(); ++k) {
    EXPECT_EQ(r.report.rejects[k].place, expected[k].first);
    EXPECT_EQ(r.report.rejects[k].reason, expected[k].second);
  }
  EXPECT_EQ(r.report.summary("ratings.csv"),
            "read ratings.csv: 2 rows kept, 7 rejected (first: ratings.csv:3: expected at least 4 fields, found 2)");
}

TEST(InteractionReaderTest, StrictModeFailsOnFirstBadRowAndKeepsEarlierRows) {
  ReadOptions o;
  o.strict = true;
  DatasetBuilder b;
  ReadReport report;
  const Status s = read_interactions_text("user,item,rating\nu1,i1,4\nu2,i2,x\nu3,i3,5\n", "r.csv", o, b, report);
  EXPECT_EQ(s.to_string(), "invalid argument: r.csv:3: field 'value' (column 'rating'): not a number: 'x'");
  EXPECT_EQ(b.build().num_interactions(), 1u);
}

TEST(InteractionReaderTest, MissingColumnsAreClearErrors) {
  ReadOptions o;
  ASSERT_OK(o.columns.parse("value=stars"));
  auto r = read_text("user,item,rating\nu1,i1,4\n", "x.csv", o);
  EXPECT_EQ(r.status.to_string(),
            "invalid argument: x.csv:1: header has no column 'stars' for value (columns: user, item, rating)");
  auto r2 = read_text("who,what\nu1,i1\n", "y.csv", ReadOptions{.header = HeaderMode::kYes});
  EXPECT_EQ(r2.status.to_string(),
            "invalid argument: y.csv:1: cannot tell which column holds the user ID; name it with --map user=COLUMN");
  ReadOptions named;
  named.header = HeaderMode::kNo;
  ASSERT_OK(named.columns.parse("user=uid"));
  auto r3 = read_text("u1,i1\n", "z.csv", named);
  EXPECT_EQ(r3.status.to_string(),
            "invalid argument: z.csv:1: column 'uid' for user is a name, but the file has no header (use a 1-based "
            "position)");
}

TEST(InteractionReaderTest, JsonLinesWithStringAndNumericIds) {
  const std::string text =
      "{\"user_id\": \"u1\", \"item_id\": 17, \"type\": \"cart\", \"timestamp\": \"2021-05-01T10:00:00Z\"}\n"
      "{\"user_id\": 2, \"item_id\": \"x\", \"type\": \"view\", \"timestamp\": 1600000000}\n";
  auto r = read_text(text, "events.jsonl");
  ASSERT_OK(r.status);
  ASSERT_EQ(r.dataset.num_interactions(), 2u);
  EXPECT_EQ(row(r.dataset, 0), "u1,17,cart,1.000000,1619863200");
  EXPECT_EQ(row(r.dataset, 1), "2,x,view,1.000000,1600000000");
}

TEST(InteractionReaderTest, JsonLinesBadRows) {
  const std::string text =
      "{\"user\": \"a\", \"item\": \"b\", \"rating\": 4}\n"
      "{\"user\": \"a\", \"item\": \"b\"\n"
      "[1, 2]\n"
      "{\"item\": \"b\"}\n"
      "{\"user\": 1.5, \"item\": \"b\"}\n"
      "{\"user\": \"a\", \"item\": \"b\", \"rating\": \"lots\"}\n"
      "{\"user\": \"a\", \"item\": \"b\", \"type\": 3}\n";
  auto r = read_text(text, "e.jsonl");
  ASSERT_OK(r.status);
  EXPECT_EQ(r.report.rows_kept, 1u);
  ASSERT_EQ(r.report.rejects.size(), 6u);
  EXPECT_EQ(r.report.rejects[0].place, "e.jsonl:2");
  EXPECT_EQ(r.report.rejects[0].reason.rfind("invalid JSON: parse error at line 1, column 26", 0), 0u)
      << r.report.rejects[0].reason;
  EXPECT_EQ(r.report.rejects[1].reason, "expected a JSON object");
  EXPECT_EQ(r.report.rejects[2].reason, "field 'user' is missing");
  EXPECT_EQ(r.report.rejects[3].reason, "field 'user' (key 'user'): must be a string or an integer");
  EXPECT_EQ(r.report.rejects[4].reason, "field 'value' (key 'rating'): not a number: '\"lots\"'");
  EXPECT_EQ(r.report.rejects[5].reason, "field 'type' (key 'type'): must be a string");
}

TEST(InteractionReaderTest, EventWeightsAndMillisecondTimestamps) {
  ReadOptions o;
  o.event_weights = "view=0.5";
  o.timestamp_millis = true;
  auto r = read_text("user,item,type,ts\nu,i,view,1600000000123\n", "w.csv", o);
  ASSERT_OK(r.status);
  EXPECT_EQ(r.dataset.weight(0), 0.5f);
  EXPECT_EQ(r.dataset.interactions().timestamps[0], 1600000000);
}

TEST(InteractionReaderTest, RejectsKeptAreCappedButAllCounted) {
  ReadOptions o;
  o.max_rejects_kept = 2;
  std::string text = "user,item,rating\n";
  for (int i = 0; i < 10; ++i) text += "u,i,bad\n";
  auto r = read_text(text, "c.csv", o);
  EXPECT_EQ(r.report.rows_rejected, 10u);
  EXPECT_EQ(r.report.rejects.size(), 2u);
}

TEST(InteractionReaderTest, FilesLargerThanOneChunkAndMissingFiles) {
  testing::TempDir dir;
  std::string text = "user_id,item_id,value,timestamp\n";
  for (int i = 0; i < 300000; ++i) {
    text += "user" + std::to_string(i % 977) + ",item" + std::to_string(i % 1013) + ",1," + std::to_string(i) + "\n";
  }
  text += "last,row,1,5";  // no trailing newline
  testing::write_file(dir.file("big.csv"), text);
  DatasetBuilder b;
  ReadReport report;
  ASSERT_OK(read_interactions_file(dir.file("big.csv"), {}, b, report));
  const Dataset d = b.build();
  ASSERT_EQ(d.num_interactions(), 300001u);
  EXPECT_EQ(d.catalog().users.id_of(d.interactions().users[300000]), "last");
  EXPECT_EQ(d.interactions().timestamps[299999], 299999);
  DatasetBuilder b2;
  const Status missing = read_interactions_file(dir.file("nope.csv"), {}, b2, report);
  EXPECT_EQ(missing.code(), Status::Code::kIoError);
  EXPECT_NE(missing.message().find("nope.csv': No such file or directory"), std::string::npos);
}

TEST(InteractionReaderTest, FormatNames) {
  EXPECT_EQ(parse_input_format("ml-1m").value(), InputFormat::kMovieLens1m);
  EXPECT_EQ(input_format_name(InputFormat::kJsonLines), "jsonl");
  EXPECT_EQ(parse_input_format("xls").status().to_string(),
            "invalid argument: unknown input format 'xls' (known: auto, csv, tsv, jsonl, ml-100k, ml-1m, ml-csv)");
}

// Hostile rows: each is rejected with its line and field, the good rows around it are kept,
// and nothing invalid reaches the dataset (later JSON encoding of IDs cannot fail).
TEST(InteractionReaderTest, InvalidTextAndOutOfRangeNumbersAreRejectedRows) {
  const std::string text =
      "user,item,rating,timestamp\n"
      "u1,i1,4,1600000000\n"
      "u1,bad\xff,1,1600000000\n"
      "u\xc0\x80,i2,1,1600000000\n"
      "u2,i2,1e308,1600000000\n"
      "u2,i3,1,1e18\n"
      "u2,i4,1,-9223372036854775808\n"
      "u2,i5,1,9223372036854775807\n"
      "u3," +
      std::string(300, 'x') +
      ",1,1600000000\n"
      "u4,i4,2,1600000000\n";
  auto r = read_text(text, "hostile.csv");
  ASSERT_OK(r.status);
  EXPECT_EQ(r.report.rows_kept, 2u);
  ASSERT_EQ(r.report.rejects.size(), 7u);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"hostile.csv:3", "field 'item': not valid UTF-8 (byte 4)"},
      {"hostile.csv:4", "field 'user': not valid UTF-8 (byte 2)"},
      {"hostile.csv:5", "field 'value': out of range (|value| must be <= 1e9)"},
      {"hostile.csv:6", "field 'timestamp': out of range (seconds since the Unix epoch, 1970-01-01 to 9999-12-31)"},
      {"hostile.csv:7", "field 'timestamp': out of range (seconds since the Unix epoch, 1970-01-01 to 9999-12-31)"},
      {"hostile.csv:8", "field 'timestamp': out of range (seconds since the Unix epoch, 1970-01-01 to 9999-12-31)"},
      {"hostile.csv:9", "field 'item': longer than 256 bytes"},
  };
  for (size_t k = 0; k < expected.size(); ++k) {
    EXPECT_EQ(r.report.rejects[k].place, expected[k].first);
    EXPECT_EQ(r.report.rejects[k].reason, expected[k].second);
  }
  ReadOptions strict;
  strict.strict = true;
  auto s = read_text("u1,i1,1,1600000000\nu1,bad\xff,1,1600000000\n", "strict.csv", strict);
  EXPECT_EQ(s.status.to_string(), "invalid argument: strict.csv:2: field 'item': not valid UTF-8 (byte 4)");
}

// Issue 28: nesting past the limit and a NUL byte are rejected rows naming the line; the
// good rows around them are read.
TEST(InteractionReaderTest, JsonLinesDeepNestingAndNulBytesAreRejectedRows) {
  const std::string text = "{\"user\":\"u1\",\"item\":\"i1\",\"x\":" + std::string(100000, '[') +
                           std::string(100000, ']') + "}\n" + std::string("{\"user\":\"u1\",\"item\":\"i2\"}") + '\0' +
                           "garbage\n" + "{\"user\":\"u2\",\"item\":\"i2\"}\n";
  auto r = read_text(text, "events.jsonl");
  ASSERT_OK(r.status);
  EXPECT_EQ(r.report.rows_kept, 1u);
  ASSERT_EQ(r.report.rejects.size(), 2u);
  EXPECT_EQ(r.report.rejects[0].place, "events.jsonl:1");
  EXPECT_EQ(r.report.rejects[0].reason, "invalid JSON: nested deeper than 64 levels");
  EXPECT_EQ(r.report.rejects[1].place, "events.jsonl:2");
  EXPECT_EQ(r.report.rejects[1].reason.rfind("invalid JSON", 0), 0u) << r.report.rejects[1].reason;
}

TEST(InteractionReaderTest, JsonLinesNumbersTooLargeAreRejectedRowsNotAFailedRead) {
  const std::string text =
      "{\"user\":\"u1\",\"item\":\"i1\",\"value\":1e400}\n"
      "{\"user\":\"u1\",\"item\":\"i1\",\"value\":" +
      std::string(400, '9') +
      "}\n"
      "{\"user\":\"u1\",\"item\":\"i1\",\"colour\":1e400}\n"
      "{\"user\":\"u1\",\"item\":\"i2\",\"value\":1e308}\n"
      "{\"user\":\"u1\",\"item\":\"i3\",\"timestamp\":-5}\n"
      "{\"user\":\"u2\",\"item\":\"i2\",\"value\":2}\n";
  auto r = read_text(text, "events.jsonl");
  ASSERT_OK(r.status);
  EXPECT_EQ(r.report.rows_kept, 1u);
  ASSERT_EQ(r.report.rejects.size(), 5u);
  EXPECT_EQ(r.report.rejects[0].place, "events.jsonl:1");
  EXPECT_EQ(r.report.rejects[0].reason.rfind("invalid JSON: number overflow", 0), 0u) << r.report.rejects[0].reason;
  EXPECT_EQ(r.report.rejects[1].place, "events.jsonl:2");
  EXPECT_EQ(r.report.rejects[2].place, "events.jsonl:3");
  EXPECT_EQ(r.report.rejects[3].reason, "field 'value': out of range (|value| must be <= 1e9)");
  EXPECT_EQ(r.report.rejects[4].place, "events.jsonl:5");
}

TEST(InteractionReaderTest, ByteOrderMarkIsNotPartOfTheFirstId) {
  auto r = read_text("\xEF\xBB\xBFu1,i1\nu2,i2\n", "bom.csv");
  ASSERT_OK(r.status);
  ASSERT_EQ(r.dataset.num_interactions(), 2u);
  EXPECT_EQ(r.dataset.catalog().users.id_of(0), "u1");
  auto h = read_text("\xEF\xBB\xBFuser,item\nu1,i1\n", "bom-header.csv");
  ASSERT_OK(h.status);
  EXPECT_EQ(h.dataset.num_interactions(), 1u);
}

TEST(InteractionReaderTest, QuotedFieldsMayHoldNewlines) {
  auto r = read_text("user,item,type\n\"Smith,\nJ\",\"i\"\"1\",view\nu2,\"two\n\nlines\",view\nu3,i3,view\n", "q.csv");
  ASSERT_OK(r.status);
  ASSERT_EQ(r.dataset.num_interactions(), 3u) << r.report.summary("q.csv");
  EXPECT_EQ(r.dataset.catalog().users.id_of(0), "Smith,\nJ");
  EXPECT_EQ(r.dataset.catalog().items.id_of(0), "i\"1");
  EXPECT_EQ(r.dataset.catalog().items.id_of(1), "two\n\nlines");
  EXPECT_EQ(r.report.lines, 7u);
  // Rows after a multi-line record keep their own line numbers in reports.
  auto bad = read_text("user,item,rating\n\"a\nb\",i1,1\nu2,i2,x\n", "q2.csv");
  ASSERT_EQ(bad.report.rejects.size(), 1u);
  EXPECT_EQ(bad.report.rejects[0].place, "q2.csv:4");
}

// A file cut in parts (as nudge-train-mpi's ranks read it): each part read after the
// file's header gives the rows the whole file gives there, and messages name the file's lines.
TEST(InteractionReaderTest, PartsReadAfterTheHeaderAsTheWholeFileReadsThem) {
  const std::string header = "when,sku,who";
  const std::string part1 = "1,a,u1\n2,b,u2\n", part2 = "3,c,u1\n4,x,u3\n";
  ReadOptions o;
  ASSERT_OK(o.columns.parse("user=who,item=sku,timestamp=when"));
  EXPECT_TRUE(is_header_line(header, "f.csv", o));
  EXPECT_FALSE(is_header_line("1,a,u1", "f.csv", {}));
  EXPECT_FALSE(is_header_line("1::1193::5::978300760", "ratings.dat", {}));
  const auto whole = read_text(header + "\n" + part1 + part2, "f.csv", o);
  ASSERT_OK(whole.status);
  DatasetBuilder b;
  ReadReport report;
  ASSERT_OK(read_interactions_part({part2, header, 4}, "f.csv", o, b, report));
  const Dataset second = b.build();
  ASSERT_EQ(second.num_interactions(), 2u);
  EXPECT_EQ(row(second, 0), row(whole.dataset, 2));
  EXPECT_EQ(row(second, 1), row(whole.dataset, 3));
  // A bad row in the part is named by its line in the file, with and without a header.
  o.strict = true;
  DatasetBuilder bad;
  Status s = read_interactions_part({"5,d,u4\nlate,e,u5\n", header, 6}, "f.csv", o, bad, report);
  EXPECT_NE(s.message().find("f.csv:7: field 'timestamp'"), std::string::npos) << s.to_string();
  ReadOptions ml;
  ml.strict = true;
  DatasetBuilder bad_ml;
  s = read_interactions_part({"1::2::5::978300760\n1::3::x::978300760\n", "", 11}, "ratings.dat", ml, bad_ml, report);
  EXPECT_NE(s.message().find("ratings.dat:12:"), std::string::npos) << s.to_string();
}

}  // namespace
}  // namespace nudge
