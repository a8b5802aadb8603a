#include "nudge/serve/store_admin.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "numbered_events.h"
#include "serve/event_store.h"
#include "test_util.h"

namespace nudge::serve {
namespace {
namespace fs = std::filesystem;

std::vector<Event> numbered(size_t first, size_t n) { return nudge::testing::numbered_events(first, n, 7); }

size_t count_events(const std::string& store_dir) {
  auto store = EventStore::open(store_dir).value();
  size_t n = 0;
  EXPECT_TRUE(store->scan_events([&](uint64_t, Event&&) { ++n; }).is_ok());
  return n;
}

std::string log_file(const std::string& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".log") return e.path().string();
  return "";
}

TEST(StoreAdmin, BackupWhileTheStoreIsOpenThenRestore) {
  nudge::testing::TempDir dir;
  const std::string data = dir.file("data");
  auto store = EventStore::open(data + "/events").value();
  ASSERT_OK(store->append(numbered(0, 100)));
  nudge::testing::write_file(data + "/model.version", "3\n");
  StoreCheck copied;
  ASSERT_OK(backup_store(data, dir.file("backup"), &copied));
  EXPECT_TRUE(copied.ok());
  EXPECT_EQ(copied.events, 100u);
  EXPECT_EQ(nudge::testing::read_file(dir.file("backup") + "/model.version"), "3\n");
  EXPECT_FALSE(fs::exists(dir.file("backup.partial")));
  ASSERT_OK(store->append(numbered(100, 50)));  // after the backup: not in it
  EXPECT_EQ(backup_store(data, dir.file("backup"), &copied).code(), Status::Code::kInvalidArgument);
  store.reset();
  std::string aside;
  ASSERT_OK(restore_store(dir.file("backup"), data, &aside));
  EXPECT_TRUE(aside.starts_with(data + ".before-restore-")) << aside;
  EXPECT_EQ(count_events(aside + "/events"), 150u);  // the old directory, kept whole
  EXPECT_EQ(count_events(data + "/events"), 100u);
  EXPECT_EQ(nudge::testing::read_file(data + "/model.version"), "3\n");
}

// A backup killed half way leaves <dest>.partial, never a dest that looks whole; the next
// backup to the same place starts over.
TEST(StoreAdmin, AnInterruptedBackupIsStartedOver) {
  nudge::testing::TempDir dir;
  { ASSERT_OK(EventStore::open(dir.file("data") + "/events").value()->append(numbered(0, 10))); }
  fs::create_directories(dir.file("backup.partial/events"));
  nudge::testing::write_file(dir.file("backup.partial/events/junk"), "x");
  StoreCheck copied;
  ASSERT_OK(backup_store(dir.file("data"), dir.file("backup"), &copied));
  EXPECT_EQ(copied.events, 10u);
  EXPECT_FALSE(fs::exists(dir.file("backup/events/junk")));
}

TEST(StoreAdmin, RepairBringsBackAStoreWithoutCurrentAndKeepsACopy) {
  nudge::testing::TempDir dir;
  const std::string data = dir.file("data");
  {
    auto store = EventStore::open(data + "/events").value();
    ASSERT_OK(store->append(numbered(0, 100)));
    ASSERT_OK(store->flush());
    ASSERT_OK(store->append(numbered(100, 5)));
  }
  fs::remove(data + "/events/CURRENT");
  EXPECT_FALSE(EventStore::open(data + "/events").is_ok());
  EXPECT_FALSE(check_store(data).is_ok());
  std::string copy;
  StoreCheck after;
  ASSERT_OK(repair_store(data, &copy, &after));
  EXPECT_TRUE(fs::exists(copy + "/MANIFEST-000005") || !fs::is_empty(copy)) << copy;
  EXPECT_FALSE(fs::exists(copy + "/CURRENT"));  // the copy is the store as it was
  EXPECT_EQ(after.events, 105u);
  EXPECT_EQ(after.missing_events, 0u);
  EXPECT_TRUE(after.ok());
  EXPECT_EQ(count_events(data + "/events"), 105u);
}

TEST(StoreAdmin, CheckNamesADamagedLogAndChangesNothing) {
  nudge::testing::TempDir dir;
  const std::string data = dir.file("data");
  {
    auto store = EventStore::open(data + "/events").value();
    for (size_t c = 0; c < 20; ++c) ASSERT_OK(store->append(numbered(c * 50, 50)));
  }
  auto good = check_store(data);
  ASSERT_OK(good.status());
  EXPECT_TRUE(good->ok());
  EXPECT_EQ(good->events, 1000u);
  EXPECT_EQ(good->acknowledged, 1000u);
  const std::string log = log_file(data + "/events");
  {
    std::fstream f(log, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(log) / 2));
    f.put('\x55');
  }
  const std::string damaged_bytes = nudge::testing::read_file(log);
  auto bad = check_store(data);
  ASSERT_OK(bad.status());
  EXPECT_FALSE(bad->ok());
  ASSERT_FALSE(bad->problems.empty());
  EXPECT_NE(bad->problems[0].find(fs::path(log).filename().string() + ": "), std::string::npos) << bad->problems[0];
  EXPECT_GT(bad->missing_events, 0u);
  EXPECT_EQ(bad->events + bad->missing_events, 1000u);
  EXPECT_EQ(nudge::testing::read_file(log), damaged_bytes);
}

}  // namespace
}  // namespace nudge::serve
