#include "serve/store_recovery.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "serve/event_store.h"
#include "test_util.h"

namespace nudge::serve {
namespace {

void log_line(rocksdb::Logger& log, const char* format, ...) {
  va_list ap;
  va_start(ap, format);
  log.Logv(format, ap);
  va_end(ap);
}

TEST(StoreRecovery, DamageReportsAreKeptAndAddedUpPerFile) {
  DamageLog log;
  log_line(log, "%s%s: dropping %d bytes; %s", "(ignoring error) ", "/d/events/000012.log", 32768,
           "Corruption: checksum mismatch");
  log_line(log, "%s%s: dropping %d bytes; %s", "(ignoring error) ", "/d/events/000012.log", 100,
           "Corruption: missing start of fragmented record(1)");
  log_line(log, "%s%s: dropping %d bytes; %s", "", "/d/events/000013.log", 7, "Corruption: bad record length");
  log_line(log, "Recovering log #%d", 12);  // not a report
  const auto damage = log.damage();
  ASSERT_EQ(damage.size(), 3u);
  EXPECT_EQ(damage[0].file, "000012.log");
  EXPECT_EQ(damage[0].bytes, 32768u);
  EXPECT_EQ(damage[0].reason, "Corruption: checksum mismatch");
  const auto by_file = damage_by_file(damage);
  ASSERT_EQ(by_file.size(), 2u);
  EXPECT_EQ(by_file[0].bytes, 32868u);
  EXPECT_EQ(describe_damage(damage),
            "000012.log: 32868 bytes unreadable from the first damage on (Corruption: checksum mismatch); "
            "000013.log: 7 bytes unreadable from the first damage on (Corruption: bad record length)");
}

TEST(StoreRecovery, OnlyAnEmptyOrMissingDirectoryIsNew) {
  nudge::testing::TempDir dir;
  bool fresh = false;
  ASSERT_OK(check_store_directory(dir.file("none"), &fresh));
  EXPECT_TRUE(fresh);
  std::filesystem::create_directories(dir.file("empty"));
  ASSERT_OK(check_store_directory(dir.file("empty"), &fresh));
  EXPECT_TRUE(fresh);
  std::filesystem::create_directories(dir.file("data"));
  nudge::testing::write_file(dir.file("data") + "/000007.sst", "x");
  nudge::testing::write_file(dir.file("data") + "/LOG", "x");
  const Status s = check_store_directory(dir.file("data"), &fresh);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("CURRENT is missing but the directory holds data (1 .sst, 0 .log, 0 MANIFEST"),
            std::string::npos)
      << s.message();
  nudge::testing::write_file(dir.file("data") + "/CURRENT", "MANIFEST-000001\n");
  ASSERT_OK(check_store_directory(dir.file("data"), &fresh));
  EXPECT_FALSE(fresh);
}

TEST(StoreRecovery, InspectionCountsRecordsAndChangesNothing) {
  nudge::testing::TempDir dir;
  {
    auto store = EventStore::open(dir.file("db")).value();
    ASSERT_OK(store->append({{"u1", "i1", "view", 1.f, 10}, {"u2", "i2", "view", 1.f, 11}}));
    ASSERT_OK(store->put_item({"i1", "c", {"t"}, 2.f, false}));
    ASSERT_OK(store->put_user({"u1", "{}"}));
  }
  std::vector<std::string> before;
  for (const auto& e : std::filesystem::directory_iterator(dir.file("db"))) before.push_back(e.path().string());
  auto seen = inspect_store(dir.file("db"), nullptr, true);
  ASSERT_OK(seen.status());
  EXPECT_EQ(seen->events, 2u);
  EXPECT_EQ(seen->items, 1u);
  EXPECT_EQ(seen->users, 1u);
  EXPECT_EQ(seen->next_sequence, 2u);
  EXPECT_EQ(seen->missing_events, 0u);
  EXPECT_TRUE(seen->log_damage.empty());
  ASSERT_OK(seen->checksums);
  std::vector<std::string> after;
  for (const auto& e : std::filesystem::directory_iterator(dir.file("db"))) after.push_back(e.path().string());
  std::sort(before.begin(), before.end());
  std::sort(after.begin(), after.end());
  EXPECT_EQ(before, after);
  EXPECT_EQ(inspect_store(dir.file("none"), nullptr, false).status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace nudge::serve
