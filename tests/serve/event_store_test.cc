#include "serve/event_store.h"

#include <gtest/gtest.h>

#include <rocksdb/db.h>
#include <future>

#include <atomic>
#include <thread>

#include <filesystem>
#include <fstream>
#include <set>

#include "numbered_events.h"
#include "serve/fault_file_system.h"
#include "serve/record_codec.h"
#include "test_util.h"

namespace nudge::serve {
namespace {

using nudge::testing::TempDir;
namespace fs = std::filesystem;

std::vector<Event> numbered(size_t first, size_t n) { return nudge::testing::numbered_events(first, n); }

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string only_log_file(const std::string& dir) {
  std::string found;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".log") {
      EXPECT_TRUE(found.empty()) << "more than one log in " << dir;
      found = e.path().string();
    }
  return found;
}

EventStoreOptions on_faulty_disk(const std::shared_ptr<FaultFileSystem>& disk) {
  EventStoreOptions options;
  options.file_system = disk;
  options.recovery_interval_s = 0.02;
  return options;
}

// 200 acknowledged commits of 50 events, closed (the events live in its write-ahead log).
void make_store_of_commits(const std::string& dir) {
  auto store = EventStore::open(dir).value();
  for (size_t c = 0; c < 200; ++c) ASSERT_OK(store->append(numbered(c * 50, 50)));
}

std::vector<Event> read_all(const EventStore& store) {
  std::vector<Event> out;
  uint64_t expect = 0;
  EXPECT_TRUE(store
                  .scan_events([&](uint64_t seq, Event&& e) {
                    EXPECT_EQ(seq, expect++);
                    out.push_back(std::move(e));
                  })
                  .is_ok());
  return out;
}

TEST(EventStore, EventsItemsAndUsersSurviveReopen) {
  TempDir dir;
  {
    auto store = EventStore::open(dir.file("db")).value();
    ASSERT_TRUE(store->append({{"u1", "i1", "view", 1.f, 10}, {"u2", "i2", "purchase", 2.f, 11}}).is_ok());
    ASSERT_TRUE(store->put_item({"i1", "shoes", {"red"}, 9.5f, false}).is_ok());
    ASSERT_TRUE(store->put_user({"u1", R"({"country":"fr"})"}).is_ok());
  }
  auto store = EventStore::open(dir.file("db")).value();
  EXPECT_EQ(store->num_events(), 2u);
  ASSERT_TRUE(store->append({{"u3", "i3", "view", 1.f, 12}}).is_ok());
  const auto events = read_all(*store);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1], (Event{"u2", "i2", "purchase", 2.f, 11}));
  EXPECT_EQ(events[2].user, "u3");  // numbering continued after the reopen
  std::vector<ItemRecord> items;
  ASSERT_TRUE(store->scan_items([&](ItemRecord&& r) { items.push_back(std::move(r)); }).is_ok());
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].category, "shoes");
  std::vector<UserRecord> users;
  ASSERT_TRUE(store->scan_users([&](UserRecord&& r) { users.push_back(std::move(r)); }).is_ok());
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0].attributes_json, R"({"country":"fr"})");
}

TEST(EventStore, ConcurrentAppendsAreGroupCommittedAndAllKept) {
  TempDir dir;
  auto store = EventStore::open(dir.file("db")).value();
  constexpr int kThreads = 8, kPerThread = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int k = 0; k < kPerThread; ++k)
        if (!store->append({{"u" + std::to_string(t), "i" + std::to_string(k), "view", 1.f, k}}).is_ok()) ++failures;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store->num_events(), uint64_t{kThreads * kPerThread});
  // Every append waited for a sync; batching shows as fewer commits than appends.
  EXPECT_LT(store->num_commits(), uint64_t{kThreads * kPerThread});
  const auto events = read_all(*store);
  ASSERT_EQ(events.size(), size_t{kThreads * kPerThread});
  // Each thread's events are in the order it appended them.
  std::vector<int> next(kThreads, 0);
  for (const Event& e : events) {
    const int t = std::stoi(e.user.substr(1));
    EXPECT_EQ(e.item, "i" + std::to_string(next[t]++));
  }
}

TEST(EventStore, AsyncCallbacksRunInCommitOrderWithSequences) {
  TempDir dir;
  auto store = EventStore::open(dir.file("db")).value();
  std::mutex m;
  std::vector<uint64_t> firsts;
  for (int k = 0; k < 20; ++k)
    store->append_async({{"u", "i", "view", 1.f, 1}, {"u", "j", "view", 1.f, 1}}, [&](const Status& s, uint64_t first) {
      EXPECT_TRUE(s.is_ok());
      std::lock_guard lock(m);
      firsts.push_back(first);
    });
  store.reset();  // the destructor drains the queue
  ASSERT_EQ(firsts.size(), 20u);
  for (size_t k = 0; k < firsts.size(); ++k) EXPECT_EQ(firsts[k], 2 * k);
}

TEST(EventStore, UndecodableRecordIsSkippedAndCounted) {
  TempDir dir;
  {
    auto store = EventStore::open(dir.file("db")).value();
    ASSERT_TRUE(store->append({{"u1", "i1", "view", 1.f, 10}, {"u2", "i2", "view", 1.f, 11}}).is_ok());
  }
  {
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir.file("db"), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), event_key(0), "garbage").ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), std::string(1, kItemPrefix) + "x", "\x01").ok());
  }
  auto store = EventStore::open(dir.file("db")).value();
  std::vector<uint64_t> seen;
  ASSERT_OK(store->scan_events([&](uint64_t seq, Event&& e) {
    seen.push_back(seq);
    EXPECT_EQ(e.user, "u2");
  }));
  EXPECT_EQ(seen, std::vector<uint64_t>{1});
  ASSERT_OK(store->scan_items([](ItemRecord&&) { ADD_FAILURE() << "the damaged item record was delivered"; }));
  EXPECT_EQ(store->records_skipped(), 2u);
  // Appends go on after the damaged records.
  ASSERT_OK(store->append({{"u3", "i3", "view", 1.f, 12}}));
  EXPECT_EQ(store->num_events(), 3u);
}

TEST(EventStore, StreamPositionsAreWrittenWithTheirEventsAndSurviveReopen) {
  TempDir dir;
  {
    auto store = EventStore::open(dir.file("db")).value();
    EXPECT_EQ(store->stream_position("kafka:t:0").value(), -1);  // never stored
    std::promise<Status> first, second;
    store->append_async({{"u1", "i1", "view", 1.f, 10}}, [&](const Status& s, uint64_t) { first.set_value(s); },
                        {{"kafka:t:0", 5}, {"kafka:t:1", 9}});
    // Only positions (every message of a batch refused): they still move.
    store->append_async({}, [&](const Status& s, uint64_t) { second.set_value(s); }, {{"kafka:t:0", 7}});
    ASSERT_OK(first.get_future().get());
    ASSERT_OK(second.get_future().get());
  }
  auto store = EventStore::open(dir.file("db")).value();
  EXPECT_EQ(store->num_events(), 1u);
  EXPECT_EQ(store->stream_position("kafka:t:0").value(), 7);
  EXPECT_EQ(store->stream_position("kafka:t:1").value(), 9);
  EXPECT_EQ(store->stream_position("kafka:t:2").value(), -1);
}

TEST(EventStore, DamagedPositionIsCorruptionNotAGuess) {
  TempDir dir;
  {
    rocksdb::DB* raw = nullptr;
    rocksdb::Options o;
    o.create_if_missing = true;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir.file("db"), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), position_key("kafka:t:0"), "abc").ok());
  }
  auto store = EventStore::open(dir.file("db")).value();
  EXPECT_EQ(store->stream_position("kafka:t:0").status().code(), Status::Code::kCorruption);
}

TEST(EventStore, OpenFailureIsAnError) {
  TempDir dir;
  nudge::testing::write_file(dir.file("file"), "x");
  auto r = EventStore::open(dir.file("file") + "/db");
  EXPECT_FALSE(r.is_ok());
}

// A full disk: the write in flight fails with NoSpace and acknowledges nothing, writes are
// refused at once while it lasts, reads go on, and writes resume by themselves afterwards.
TEST(EventStore, FullDiskRefusesWritesKeepsReadsAndResumesByItself) {
  TempDir dir;
  auto disk = std::make_shared<FaultFileSystem>();
  const EventStoreOptions options = on_faulty_disk(disk);
  std::vector<Event> acknowledged;
  {
    auto store = EventStore::open(dir.file("db"), options).value();
    ASSERT_OK(store->append(numbered(0, 100)));
    acknowledged = numbered(0, 100);
    disk->set_space_left(20000);
    size_t next = 100, refused = 0;
    for (int batch = 0; batch < 200 && refused < 5; ++batch, next += 20) {
      const Status s = store->append(numbered(next, 20));
      if (s.is_ok()) {
        ASSERT_EQ(refused, 0u) << "a write was acknowledged while the disk was full";
        const auto more = numbered(next, 20);
        acknowledged.insert(acknowledged.end(), more.begin(), more.end());
      } else {
        EXPECT_EQ(s.code(), Status::Code::kNoSpace) << s.to_string();
        EXPECT_NE(s.message().find("nothing was stored"), std::string::npos) << s.message();
        ++refused;
      }
    }
    ASSERT_EQ(refused, 5u) << "the disk never filled";
    ASSERT_GT(acknowledged.size(), 100u);
    EXPECT_FALSE(store->health().writable);
    EXPECT_FALSE(store->health().problem.empty());
    EXPECT_GE(store->health().write_failures, 5u);
    EXPECT_EQ(store->put_item({"i1", "c", {}, 1.f, false}).code(), Status::Code::kNoSpace);
    EXPECT_EQ(store->put_user({"u1", "{}"}).code(), Status::Code::kNoSpace);
    EXPECT_EQ(read_all(*store), acknowledged);  // reads are served from what was stored
    // Space returns: the store writes again without being asked to.
    disk->set_space_left(FaultFileSystem::kUnlimited);
    ASSERT_TRUE(nudge::testing::eventually([&] { return store->health().writable; }));
    EXPECT_EQ(store->health().recoveries, 1u);
    ASSERT_OK(store->append(numbered(100000, 3)));
    const auto more = numbered(100000, 3);
    acknowledged.insert(acknowledged.end(), more.begin(), more.end());
    EXPECT_EQ(read_all(*store), acknowledged);
    EXPECT_GT(disk->failed_writes(), 0u);
  }
  auto store = EventStore::open(dir.file("db")).value();  // and after a restart, on the plain disk
  EXPECT_EQ(read_all(*store), acknowledged);
  EXPECT_EQ(store->num_events(), acknowledged.size());
}

// A write whose bytes reached the log but whose sync failed was answered as failed: once the
// store writes again, those events are not in it (a client that retries must not count twice).
TEST(EventStore, AWriteThatFailedToSyncIsNotStoredAfterRecovery) {
  TempDir dir;
  auto disk = std::make_shared<FaultFileSystem>();
  const EventStoreOptions options = on_faulty_disk(disk);
  auto store = EventStore::open(dir.file("db"), options).value();
  auto append = [&](std::vector<Event> events, std::vector<StreamPosition> positions) {
    std::promise<Status> done;
    store->append_async(
        std::move(events), [&](const Status& s, uint64_t) { done.set_value(s); }, std::move(positions));
    return done.get_future().get();
  };
  ASSERT_OK(append(numbered(0, 10), {{"kafka:t:0", 5}}));
  disk->set_fail_syncs(true);
  // Its positions must not stay moved either: the Kafka source would skip what it retries.
  EXPECT_EQ(append(numbered(10, 10), {{"kafka:t:0", 15}, {"kafka:t:1", 3}}).code(), Status::Code::kNoSpace);
  disk->set_fail_syncs(false);
  ASSERT_TRUE(nudge::testing::eventually([&] { return store->health().writable; }));
  EXPECT_EQ(store->stream_position("kafka:t:0").value(), 5);
  EXPECT_EQ(store->stream_position("kafka:t:1").value(), -1);
  ASSERT_OK(store->append(numbered(50, 2)));
  std::vector<Event> expected = numbered(0, 10);
  for (const Event& e : numbered(50, 2)) expected.push_back(e);
  EXPECT_EQ(read_all(*store), expected);
  store.reset();
  auto reopened = EventStore::open(dir.file("db")).value();
  EXPECT_EQ(read_all(*reopened), expected);
  EXPECT_EQ(reopened->stream_position("kafka:t:0").value(), 5);
}

// A missing CURRENT never turns into a new empty database over the data files.
TEST(EventStore, MissingCurrentIsRefusedAndNothingIsCreated) {
  TempDir dir;
  {
    auto store = EventStore::open(dir.file("db")).value();
    ASSERT_OK(store->append(numbered(0, 100)));
    ASSERT_OK(store->flush());
    ASSERT_OK(store->append(numbered(100, 5)));
  }
  fs::remove(dir.file("db") + "/CURRENT");
  const auto before = files_in(dir.file("db"));
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto r = EventStore::open(dir.file("db"));
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
    EXPECT_NE(r.status().message().find("CURRENT is missing but the directory holds data (1 .sst, 1 .log"),
              std::string::npos)
        << r.status().message();
    EXPECT_NE(r.status().message().find("nudge store repair"), std::string::npos);
    EXPECT_EQ(files_in(dir.file("db")), before);
  }
}

// One flipped bit anywhere in the log: the store refuses to open and says what would be
// lost; with skip_damaged_log it opens without the damaged events, copies the log aside and
// counts them. Never a silent partial store.
TEST(EventStore, DamagedLogIsRefusedOrSkippedLoudly) {
  TempDir dir;
  make_store_of_commits(dir.file("pristine"));
  const std::string pristine_log = only_log_file(dir.file("pristine"));
  const auto size = fs::file_size(pristine_log);
  const auto all = numbered(0, 10000);
  for (double at : {0.05, 0.5, 0.95, 0.9999}) {
    SCOPED_TRACE(at);
    const std::string copy = dir.file("flip" + std::to_string(static_cast<int>(at * 10000)));
    fs::copy(dir.file("pristine"), copy, fs::copy_options::recursive);
    {
      std::fstream f(only_log_file(copy), std::ios::in | std::ios::out | std::ios::binary);
      const auto offset = static_cast<std::streamoff>(static_cast<double>(size) * at);
      f.seekg(offset);
      char c = 0;
      f.get(c);
      f.seekp(offset);
      f.put(static_cast<char>(c ^ 0x04));
    }
    auto refused = EventStore::open(copy);
    ASSERT_FALSE(refused.is_ok());
    EXPECT_EQ(refused.status().code(), Status::Code::kCorruption);
    const std::string& why = refused.status().message();
    EXPECT_TRUE(why.find("write-ahead log is damaged") != std::string::npos ||
                why.find("acknowledged events are missing") != std::string::npos)
        << why;
    EXPECT_NE(why.find("--skip-damaged-log"), std::string::npos) << why;
    EventStoreOptions skip;
    skip.skip_damaged_log = true;
    auto store = EventStore::open(copy, skip).value();
    std::vector<Event> kept;
    ASSERT_OK(store->scan_events([&](uint64_t, Event&& e) { kept.push_back(std::move(e)); }));
    EXPECT_GT(store->damaged_events(), 0u);
    EXPECT_EQ(kept.size() + store->damaged_events(), all.size());
    std::set<std::string> items;
    for (const Event& e : all) items.insert(e.item);
    for (const Event& e : kept) EXPECT_TRUE(items.count(e.item)) << e.item;
    bool copied_aside = false;
    for (const auto& e : fs::directory_iterator(dir.path()))
      copied_aside |= e.path().filename().string().starts_with(fs::path(copy).filename().string() + ".damaged-log-");
    EXPECT_TRUE(copied_aside);
    store.reset();
    // Accepted once: the next start opens what is there without complaint.
    auto again = EventStore::open(copy).value();
    size_t reopened = 0;
    ASSERT_OK(again->scan_events([&](uint64_t, Event&&) { ++reopened; }));
    EXPECT_EQ(reopened, kept.size());
  }
}

// A log cut short loses acknowledged events at its end: that is damage, not a torn tail.
TEST(EventStore, TruncatedLogIsRefused) {
  TempDir dir;
  make_store_of_commits(dir.file("db"));
  const std::string log = only_log_file(dir.file("db"));
  fs::resize_file(log, fs::file_size(log) * 6 / 10);
  auto r = EventStore::open(dir.file("db"));
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("acknowledged events are missing from the end of the write-ahead log"),
            std::string::npos)
      << r.status().message();
}

// What a crash leaves, a torn last write that was never acknowledged, is normal.
TEST(EventStore, TornLastWriteIsNotAnError) {
  TempDir dir;
  {
    auto store = EventStore::open(dir.file("db")).value();
    for (size_t c = 0; c < 10; ++c) ASSERT_OK(store->append(numbered(c * 50, 50)));
  }
  // The acknowledgement record as it stood before the last commit, and that commit torn.
  nudge::testing::write_file(dir.file("db") + "/NUDGE-ACKNOWLEDGED", "450\n");
  const std::string log = only_log_file(dir.file("db"));
  fs::resize_file(log, fs::file_size(log) - 20);
  auto store = EventStore::open(dir.file("db")).value();
  EXPECT_EQ(read_all(*store), numbered(0, 450));
  EXPECT_EQ(store->damaged_events(), 0u);
}

}  // namespace
}  // namespace nudge::serve
