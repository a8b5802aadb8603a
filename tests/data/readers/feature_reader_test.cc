#include <gtest/gtest.h>

#include <cmath>

#include "nudge/readers.h"
#include "test_util.h"

namespace nudge {
namespace {

std::vector<std::string> tokens_of(const FeatureTable& t, uint32_t e) {
  std::vector<std::string> out;
  for (uint32_t tok : t.tokens(e)) out.push_back(t.vocabulary().id_of(tok));
  return out;
}

TEST(FeatureReaderTest, AnnotatedCsvKindsAndNewItems) {
  DatasetBuilder b;
  b.catalog().items.intern("known");
  ReadReport report;
  ASSERT_OK(
      read_features_text("item_id,category,tags:multi,price:num\n"
                         "known,shoes,red|sale,19.99\n"
                         "fresh,hats,,\n",
                         "items.csv", FeatureTarget::kItems, {}, b, report));
  const Dataset d = b.build();
  const auto& t = d.catalog().item_features;
  EXPECT_EQ(d.num_items(), 2u);  // "fresh" is a cold-start item
  EXPECT_EQ(tokens_of(t, 0), (std::vector<std::string>{"category=shoes", "tags=red", "tags=sale"}));
  EXPECT_EQ(tokens_of(t, 1), (std::vector<std::string>{"category=hats"}));
  EXPECT_FLOAT_EQ(t.numeric(0, *t.find_field("price")), 19.99f);
  EXPECT_TRUE(std::isnan(t.numeric(1, *t.find_field("price"))));
}

TEST(FeatureReaderTest, BadRowsChangeNothing) {
  DatasetBuilder b;
  ReadReport report;
  ASSERT_OK(
      read_features_text("id,color,price:num\n"
                         "a,red,10\n"
                         "a,blue,cheap\n"
                         "b,green\n"
                         ",x,1\n"
                         "c,teal,inf\n",
                         "f.csv", FeatureTarget::kItems, {}, b, report));
  ASSERT_EQ(report.rejects.size(), 4u);
  EXPECT_EQ(report.rejects[0].place, "f.csv:3");
  EXPECT_EQ(report.rejects[0].reason, "field 'price': not a finite number: 'cheap'");
  EXPECT_EQ(report.rejects[1].reason, "expected 3 fields, found 2");
  EXPECT_EQ(report.rejects[2].reason, "field 'id': empty ID");
  EXPECT_EQ(report.rejects[3].reason, "field 'price': not a finite number: 'inf'");
  const Dataset d = b.build();
  EXPECT_EQ(d.num_items(), 1u);  // rejected rows added no item
  EXPECT_EQ(tokens_of(d.catalog().item_features, 0), (std::vector<std::string>{"color=red"}));
}

TEST(FeatureReaderTest, InvalidTextAndHugeNumbersAreRejected) {
  DatasetBuilder b;
  ReadReport report;
  ASSERT_OK(
      read_features_text("\xEF\xBB\xBFid,color,tags:multi,price:num\n"
                         "a,red,x|y,10\n"
                         "b,r\xff"
                         "d,x,1\n"
                         "c,red,x|\xc0\x80,1\n"
                         "d\xed\xa0\x80,red,x,1\n"
                         "e,red,x,1e300\n"
                         "f,red,\"x\ny\",2\n",
                         "f.csv", FeatureTarget::kItems, {}, b, report));
  ASSERT_EQ(report.rejects.size(), 4u);
  EXPECT_EQ(report.rejects[0].place, "f.csv:3");
  EXPECT_EQ(report.rejects[0].reason, "field 'color': not valid UTF-8 (byte 2)");
  EXPECT_EQ(report.rejects[1].reason, "field 'tags': not valid UTF-8 (byte 3)");
  EXPECT_EQ(report.rejects[2].reason, "field 'id': not valid UTF-8 (byte 2)");
  EXPECT_EQ(report.rejects[3].reason, "field 'price': out of range (|value| must be <= 1e9): '1e300'");
  const Dataset d = b.build();
  ASSERT_EQ(d.num_items(), 2u);  // a (the BOM stripped from the header) and f (a quoted newline)
  EXPECT_EQ(d.catalog().items.id_of(1), "f");
}

TEST(FeatureReaderTest, HeaderErrors) {
  DatasetBuilder b;
  ReadReport report;
  EXPECT_EQ(read_features_text("id,price:money\n", "h.csv", FeatureTarget::kItems, {}, b, report).to_string(),
            "invalid argument: h.csv:1: header column 'price:money': unknown kind 'money' (known: cat, multi, num)");
  FeatureReadOptions o;
  o.id_column = "sku";
  EXPECT_EQ(read_features_text("id,price\n", "h.csv", FeatureTarget::kItems, o, b, report).to_string(),
            "invalid argument: h.csv:1: header has no ID column 'sku'");
}

TEST(FeatureReaderTest, OptionsOverrideKindsAndUserTarget) {
  DatasetBuilder b;
  ReadReport report;
  FeatureReadOptions o;
  o.numeric = {"age"};
  o.multi = {"langs"};
  ASSERT_OK(read_features_text("uid,age,langs\nu1,33,en|de\n", "users.csv", FeatureTarget::kUsers, o, b, report));
  const Dataset d = b.build();
  const auto& t = d.catalog().user_features;
  EXPECT_EQ(t.numeric(0, *t.find_field("age")), 33.f);
  EXPECT_EQ(tokens_of(t, 0), (std::vector<std::string>{"langs=en", "langs=de"}));
}

TEST(FeatureReaderTest, MovieLensMoviesDatAndCsv) {
  DatasetBuilder b;
  ReadReport report;
  ASSERT_OK(read_features_text("1::Toy Story (1995)::Animation|Children's|Comedy\n2::Jumanji (1995)::Adventure\n",
                               "movies.dat", FeatureTarget::kItems, {}, b, report));
  ASSERT_OK(
      read_features_text("movieId,title,genres\n3,\"American President, The (1995)\",Comedy|Drama|Romance\n"
                         "4,Untitled,(no genres listed)\n",
                         "movies.csv", FeatureTarget::kItems, {}, b, report));
  const Dataset d = b.build();
  const auto& t = d.catalog().item_features;
  ASSERT_EQ(d.num_items(), 4u);
  EXPECT_EQ(tokens_of(t, 0), (std::vector<std::string>{"genre=Animation", "genre=Children's", "genre=Comedy"}));
  EXPECT_EQ(t.numeric(2, *t.find_field("year")), 1995.f);
  EXPECT_EQ(tokens_of(t, 2).size(), 3u);
  EXPECT_TRUE(tokens_of(t, 3).empty());
  EXPECT_TRUE(std::isnan(t.numeric(3, *t.find_field("year"))));
}

// users.dat as MovieLens-1M ships it: gender, age band and occupation kept, the zip not;
// a row with the wrong field count is a reject naming its line.
TEST(FeatureReaderTest, MovieLensUsersDat) {
  DatasetBuilder b;
  ReadReport report;
  ASSERT_OK(read_features_text("1::F::1::10::48067\n2::M::56::16::70072\n3::M::25\n", "users.dat",
                               FeatureTarget::kUsers, {}, b, report));
  const Dataset d = b.build();
  const auto& t = d.catalog().user_features;
  ASSERT_EQ(d.num_users(), 2u);
  EXPECT_EQ(tokens_of(t, 0), (std::vector<std::string>{"gender=F", "age=1", "occupation=10"}));
  EXPECT_EQ(tokens_of(t, 1), (std::vector<std::string>{"gender=M", "age=56", "occupation=16"}));
  EXPECT_FALSE(t.find_field("zip").has_value());
  EXPECT_EQ(report.rows_kept, 2u);
  ASSERT_EQ(report.rejects.size(), 1u);
  EXPECT_EQ(report.rejects[0].place, "users.dat:3");
  EXPECT_EQ(report.rejects[0].reason, "expected 5 fields (id, gender, age, occupation, zip), found 3");
}

}  // namespace
}  // namespace nudge
