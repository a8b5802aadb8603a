#include "common/atomic_file.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "test_util.h"

namespace nudge {
namespace {

using testing::read_file;
using testing::TempDir;

TEST(AtomicFileTest, TheOldContentsStayUntilCommit) {
  TempDir dir;
  const std::string path = dir.file("f.txt");
  ASSERT_TRUE(write_file_atomically(path, {"old"}).is_ok());
  {
    AtomicFile f(path);
    ASSERT_TRUE(f.status().is_ok());
    f.append("new ");
    f.append("contents");
    EXPECT_EQ(read_file(path), "old");
    ASSERT_TRUE(f.commit().is_ok());
  }
  EXPECT_EQ(read_file(path), "new contents");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(AtomicFileTest, AnAbandonedWriteLeavesNothingBehind) {
  TempDir dir;
  const std::string path = dir.file("f.txt");
  ASSERT_TRUE(write_file_atomically(path, {"old"}).is_ok());
  {
    AtomicFile f(path);
    f.append("half");
  }  // an error on the way: no commit
  EXPECT_EQ(read_file(path), "old");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(AtomicFileTest, AnUnwritablePathIsAnIoErrorNamingTheFile) {
  AtomicFile f("/nonexistent-dir/x");
  EXPECT_EQ(f.status().to_string(), "I/O error: cannot write '/nonexistent-dir/x.tmp': No such file or directory");
  EXPECT_EQ(f.commit().to_string(), f.status().to_string());
}

}  // namespace
}  // namespace nudge
