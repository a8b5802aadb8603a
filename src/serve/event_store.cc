#include "nudge/serve/event_store.h"

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "nudge/log.h"
#include "serve/record_codec.h"

namespace nudge::serve {
namespace {

Status from_rocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::ok();
  if (s.IsCorruption()) return Status::corruption(std::string(what) + ": " + s.ToString());
  return Status::io_error(std::string(what) + ": " + s.ToString());
}

}  // namespace

struct EventStore::Impl {
  std::string dir;
  EventStoreOptions options;
  std::unique_ptr<rocksdb::DB> db;

  struct Pending {
    std::vector<Event> events;
    Done done;
    std::vector<StreamPosition> positions;
  };
  std::mutex mutex;
  std::condition_variable wake;
  std::vector<Pending> queue;
  bool stopping = false;
  std::atomic<uint64_t> next_sequence{0};
  std::atomic<uint64_t> commits{0};
  std::thread committer;

  void commit_loop();
  Status write(rocksdb::WriteBatch* batch, std::string_view what) {
    rocksdb::WriteOptions wo;
    wo.sync = options.sync;
    return from_rocks(db->Write(wo, batch), what);
  }
  Status scan_prefix(char prefix, const std::function<Status(std::string_view key, std::string_view value)>& fn) const;
  // Reports a record that does not decode; scans go on without it.
  void skip(std::string_view kind, std::string_view key) const;
  mutable std::atomic<uint64_t> skipped{0};
};

void EventStore::Impl::commit_loop() {
  for (;;) {
    std::vector<Pending> batch;
    {
      std::unique_lock lock(mutex);
      wake.wait(lock, [&] { return stopping || !queue.empty(); });
      if (queue.empty()) return;  // stopping with nothing left
      batch.swap(queue);
    }
    // Everything queued while the previous write synced goes out in one WriteBatch.
    const uint64_t first = next_sequence.load();
    Status s;
    // The thread's boundary: an exception (out of memory) fails this batch, not the process.
    try {
      rocksdb::WriteBatch wb;
      uint64_t seq = first;
      for (const Pending& p : batch) {
        for (const Event& e : p.events) wb.Put(event_key(seq++), encode_event(e));
        for (const StreamPosition& pos : p.positions) wb.Put(position_key(pos.stream), encode_position(pos.next));
      }
      s = write(&wb, "event store: append");
      if (s.is_ok()) {
        next_sequence.store(seq);
        commits.fetch_add(1);
      }
    } catch (const std::exception& e) {
      s = Status::io_error(std::string("event store: append: ") + e.what());
    }
    uint64_t at = first;
    for (Pending& p : batch) {
      try {
        p.done(s, at);
      } catch (const std::exception& e) {
        spdlog::error("event store: an append callback failed: {}", e.what());
      }
      at += p.events.size();
    }
  }
}

Status EventStore::Impl::scan_prefix(char prefix,
                                     const std::function<Status(std::string_view, std::string_view)>& fn) const {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
  const std::string start(1, prefix);
  for (it->Seek(start); it->Valid(); it->Next()) {
    const rocksdb::Slice k = it->key();
    if (k.empty() || k[0] != prefix) break;
    const rocksdb::Slice v = it->value();
    NUDGE_RETURN_IF_ERROR(fn(std::string_view(k.data(), k.size()), std::string_view(v.data(), v.size())));
  }
  return from_rocks(it->status(), "event store: scan");
}

EventStore::EventStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EventStore::~EventStore() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->committer.joinable()) impl_->committer.join();
}

Result<std::unique_ptr<EventStore>> EventStore::open(const std::string& dir, EventStoreOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->options = options;
  rocksdb::Options ro;
  ro.create_if_missing = true;
  ro.IncreaseParallelism(2);
  // Events are written once and read back in full at startup and retrain: favour write speed.
  ro.compression = rocksdb::kLZ4Compression;
  rocksdb::DB* db = nullptr;
  NUDGE_RETURN_IF_ERROR(from_rocks(rocksdb::DB::Open(ro, dir, &db), "event store: open " + dir));
  impl->db.reset(db);

  // The next sequence follows the last event key.
  std::unique_ptr<rocksdb::Iterator> it(impl->db->NewIterator(rocksdb::ReadOptions()));
  it->SeekForPrev(std::string(1, kEventPrefix) + std::string(8, '\xff'));
  if (it->Valid() && !it->key().empty() && it->key()[0] == kEventPrefix) {
    uint64_t last = 0;
    if (!parse_event_key(std::string_view(it->key().data(), it->key().size()), &last))
      return Status::corruption("event store " + dir + ": bad event key " + printable_key(it->key().ToStringView()));
    impl->next_sequence = last + 1;
  }
  NUDGE_RETURN_IF_ERROR(from_rocks(it->status(), "event store: open " + dir));
  it.reset();
  Impl* raw = impl.get();
  impl->committer = std::thread([raw] { raw->commit_loop(); });
  return std::unique_ptr<EventStore>(new EventStore(std::move(impl)));
}

void EventStore::append_async(std::vector<Event> events, Done done, std::vector<StreamPosition> positions) {
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->stopping) {
      impl_->queue.push_back({std::move(events), std::move(done), std::move(positions)});
      impl_->wake.notify_one();
      return;
    }
  }
  done(Status::io_error("event store: closing"), 0);
}

Status EventStore::append(std::vector<Event> events) {
  std::promise<Status> result;
  append_async(std::move(events), [&](const Status& s, uint64_t) { result.set_value(s); });
  return result.get_future().get();
}

Status EventStore::put_item(const ItemRecord& item) {
  rocksdb::WriteBatch wb;
  wb.Put(std::string(1, kItemPrefix) + item.id, encode_item(item));
  return impl_->write(&wb, "event store: put item");
}

Status EventStore::put_user(const UserRecord& user) {
  rocksdb::WriteBatch wb;
  wb.Put(std::string(1, kUserPrefix) + user.id, user.attributes_json);
  return impl_->write(&wb, "event store: put user");
}

void EventStore::Impl::skip(std::string_view kind, std::string_view key) const {
  if (skipped.fetch_add(1) < 10)
    spdlog::warn("event store {}: skipping {} record {}: it does not decode", dir, kind, printable_key(key));
}

Status EventStore::scan_events(const std::function<void(uint64_t, Event&&)>& fn) const {
  return impl_->scan_prefix(kEventPrefix, [&](std::string_view key, std::string_view value) {
    uint64_t seq = 0;
    Event e;
    if (!parse_event_key(key, &seq) || !decode_event(value, &e)) {
      impl_->skip("event", key);
      return Status::ok();
    }
    fn(seq, std::move(e));
    return Status::ok();
  });
}

Status EventStore::scan_items(const std::function<void(ItemRecord&&)>& fn) const {
  return impl_->scan_prefix(kItemPrefix, [&](std::string_view key, std::string_view value) {
    ItemRecord item;
    if (!decode_item(value, &item) || item.id != key.substr(1)) {
      impl_->skip("item", key);
      return Status::ok();
    }
    fn(std::move(item));
    return Status::ok();
  });
}

Status EventStore::scan_users(const std::function<void(UserRecord&&)>& fn) const {
  return impl_->scan_prefix(kUserPrefix, [&](std::string_view key, std::string_view value) {
    fn(UserRecord{std::string(key.substr(1)), std::string(value)});
    return Status::ok();
  });
}

Result<int64_t> EventStore::stream_position(const std::string& stream) const {
  std::string value;
  const rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), position_key(stream), &value);
  if (s.IsNotFound()) return int64_t{-1};
  NUDGE_RETURN_IF_ERROR(from_rocks(s, "event store: read position of " + stream));
  int64_t next = 0;
  if (!decode_position(value, &next))
    return Status::corruption("event store: bad position record for " + printable_key(stream));
  return next;
}

uint64_t EventStore::num_events() const { return impl_->next_sequence.load(); }
uint64_t EventStore::num_commits() const { return impl_->commits.load(); }
uint64_t EventStore::records_skipped() const { return impl_->skipped.load(); }

}  // namespace nudge::serve
