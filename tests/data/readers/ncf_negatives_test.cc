#include <gtest/gtest.h>

#include "nudge/readers.h"
#include "test_util.h"

namespace nudge {
namespace {

Catalog catalog() {
  Catalog c;
  for (const char* u : {"u1", "u2"}) c.users.intern(u);
  for (const char* i : {"a", "b", "c", "d"}) c.items.intern(i);
  return c;
}

TEST(NcfNegativesTest, ReadsEachUsersListByID) {
  testing::TempDir dir;
  testing::write_file(dir.file("test.negative"), "(u1,c)\td\tb\n\n(u2,d)\t b \n");
  const auto negatives = read_ncf_negatives(dir.file("test.negative"), catalog());
  ASSERT_OK(negatives.status());
  EXPECT_EQ(negatives->at(0), (std::vector<uint32_t>{3, 1}));
  EXPECT_EQ(negatives->at(1), (std::vector<uint32_t>{1}));
}

TEST(NcfNegativesTest, UnknownIDsAndMalformedLinesNameFileAndLine) {
  testing::TempDir dir;
  testing::write_file(dir.file("bad.negative"), "(u1,c)\tzzz\n");
  EXPECT_EQ(read_ncf_negatives(dir.file("bad.negative"), catalog()).status().to_string(),
            "invalid argument: " + dir.file("bad.negative") + ":1: unknown item 'zzz'");
  testing::write_file(dir.file("bad2.negative"), "(u1,a)\tb\nu1 c\n");
  EXPECT_EQ(read_ncf_negatives(dir.file("bad2.negative"), catalog()).status().to_string(),
            "invalid argument: " + dir.file("bad2.negative") + ":2: expected '(user,item)' first, got 'u1 c'");
  testing::write_file(dir.file("bad3.negative"), "(nobody,a)\tb\n");
  EXPECT_EQ(read_ncf_negatives(dir.file("bad3.negative"), catalog()).status().to_string(),
            "invalid argument: " + dir.file("bad3.negative") + ":1: unknown user 'nobody'");
}

}  // namespace
}  // namespace nudge
