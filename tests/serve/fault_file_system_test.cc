#include "serve/fault_file_system.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "test_util.h"

namespace nudge::serve {
namespace {

std::unique_ptr<rocksdb::FSWritableFile> create(FaultFileSystem& fs, const std::string& path) {
  std::unique_ptr<rocksdb::FSWritableFile> f;
  EXPECT_TRUE(fs.NewWritableFile(path, rocksdb::FileOptions(), &f, nullptr).ok());
  return f;
}

TEST(FaultFileSystem, WritesUntilTheSpaceIsUsedThenTearsAndRefuses) {
  nudge::testing::TempDir dir;
  FaultFileSystem fs;
  auto f = create(fs, dir.file("a"));
  ASSERT_TRUE(f->Append(rocksdb::Slice("0123456789"), rocksdb::IOOptions(), nullptr).ok());  // unlimited
  fs.set_space_left(4);
  // The write crossing the limit stores what fits (a torn write) and fails with NoSpace.
  const rocksdb::IOStatus torn = f->Append(rocksdb::Slice("abcdefgh"), rocksdb::IOOptions(), nullptr);
  EXPECT_TRUE(torn.IsNoSpace()) << torn.ToString();
  EXPECT_EQ(fs.space_left(), 0);
  EXPECT_TRUE(f->Append(rocksdb::Slice("x"), rocksdb::IOOptions(), nullptr).IsNoSpace());
  EXPECT_TRUE(f->Sync(rocksdb::IOOptions(), nullptr).IsNoSpace());
  std::unique_ptr<rocksdb::FSWritableFile> g;
  EXPECT_TRUE(fs.NewWritableFile(dir.file("b"), rocksdb::FileOptions(), &g, nullptr).IsNoSpace());
  ASSERT_TRUE(f->Close(rocksdb::IOOptions(), nullptr).ok());
  EXPECT_EQ(nudge::testing::read_file(dir.file("a")), "0123456789abcd");
  EXPECT_EQ(fs.failed_writes(), 4u);
  // Space back: writes and new files work again.
  fs.set_space_left(FaultFileSystem::kUnlimited);
  auto h = create(fs, dir.file("c"));
  EXPECT_TRUE(h->Append(rocksdb::Slice("ok"), rocksdb::IOOptions(), nullptr).ok());
  EXPECT_TRUE(h->Sync(rocksdb::IOOptions(), nullptr).ok());
}

TEST(FaultFileSystem, FailedSyncsLeaveTheBytesInTheFile) {
  nudge::testing::TempDir dir;
  FaultFileSystem fs;
  auto f = create(fs, dir.file("a"));
  fs.set_fail_syncs(true);
  EXPECT_TRUE(f->Append(rocksdb::Slice("abc"), rocksdb::IOOptions(), nullptr).ok());
  EXPECT_TRUE(f->Sync(rocksdb::IOOptions(), nullptr).IsNoSpace());
  EXPECT_TRUE(f->Fsync(rocksdb::IOOptions(), nullptr).IsNoSpace());
  fs.set_fail_syncs(false);
  EXPECT_TRUE(f->Sync(rocksdb::IOOptions(), nullptr).ok());
  ASSERT_TRUE(f->Close(rocksdb::IOOptions(), nullptr).ok());
  EXPECT_EQ(nudge::testing::read_file(dir.file("a")), "abc");
}

}  // namespace
}  // namespace nudge::serve
