// How one file is cut between ranks (file_part: no MPI job needed); the sharded read itself
// is checked against single-node reading in ials_test (catalogue, cleaning and history equal).
#include "nudge/distributed/shard.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace nudge::distributed {
namespace {

using testing::TempDir;

// Every byte in exactly one part, parts in rank order, each starting at a line start.
void expect_parts_cover_lines(const std::string& path, const std::string& text, int size) {
  uint64_t next = 0;
  for (int r = 0; r < size; ++r) {
    auto part = file_part(path, r, size);
    ASSERT_TRUE(part.is_ok()) << part.status().to_string();
    EXPECT_EQ(part.value().begin, next) << "rank " << r << " of " << size;
    EXPECT_LE(part.value().begin, part.value().end);
    if (part.value().begin > 0 && part.value().begin < text.size()) {
      EXPECT_EQ(text[part.value().begin - 1], '\n') << "rank " << r << " of " << size;
    }
    next = part.value().end;
  }
  EXPECT_EQ(next, text.size());
}

TEST(FilePart, PartsCoverTheFileAtLineStarts) {
  TempDir dir;
  std::string text = "user,item\n";
  for (int k = 0; k < 500; ++k) text += "u" + std::to_string(k % 37) + ",i" + std::to_string(k * k % 101) + "\n";
  testing::write_file(dir.file("a.csv"), text);
  for (int size = 1; size <= 9; ++size) expect_parts_cover_lines(dir.file("a.csv"), text, size);
}

TEST(FilePart, LongLinesAndNoFinalNewline) {
  TempDir dir;
  // Lines longer than the 64 KiB window the cut point is searched in, and no final newline.
  const std::string text = std::string(70'000, 'a') + "\n" + std::string(150'000, 'b') + "\nlast";
  testing::write_file(dir.file("long.csv"), text);
  for (int size = 1; size <= 5; ++size) expect_parts_cover_lines(dir.file("long.csv"), text, size);
  // More ranks than lines: the later ones get empty parts.
  testing::write_file(dir.file("one.csv"), "u,i\n");
  expect_parts_cover_lines(dir.file("one.csv"), "u,i\n", 4);
  testing::write_file(dir.file("empty.csv"), "");
  expect_parts_cover_lines(dir.file("empty.csv"), "", 3);
}

TEST(FilePart, AMissingFileIsNamed) {
  TempDir dir;
  auto part = file_part(dir.file("absent.csv"), 0, 2);
  ASSERT_FALSE(part.is_ok());
  EXPECT_NE(part.status().message().find("absent.csv: cannot open"), std::string::npos);
}

}  // namespace
}  // namespace nudge::distributed
