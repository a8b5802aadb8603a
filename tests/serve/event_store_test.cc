#include "nudge/serve/event_store.h"

#include <gtest/gtest.h>

#include <rocksdb/db.h>
#include <future>

#include <atomic>
#include <thread>

#include "serve/record_codec.h"
#include "test_util.h"

namespace nudge::serve {
namespace {

using nudge::testing::TempDir;

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

}  // namespace
}  // namespace nudge::serve
