// EventStore: the server's durable record of events, items and users, on RocksDB.
//
// Events are appended under increasing sequence numbers. Appends from many threads are
// group-committed: one committer thread takes everything queued while the previous write was
// syncing and writes it as one RocksDB WriteBatch with the WAL synced (sync=true), so a
// thousand concurrent requests cost one fsync, not a thousand. A callback runs once the batch
// holding its events is durable; after `kill -9` (or power loss, with sync on) a reopened
// store holds every event whose callback reported success.
//
// A write that fails (a full disk) is answered NoSpace/IoError and acknowledges nothing; the
// store then refuses writes at once (reads go on) and tries every `recovery_interval_s` to
// write again: it reopens RocksDB once a probe write succeeds, drops any part of the failed
// batches that reached the log, and from then on accepts writes by itself (health()).
//
// Opening never creates a database over existing data files, and refuses a write-ahead log
// damaged anywhere but at its torn tail, naming the damage (skip_damaged_log opts out).
//
// Key layout (one column family): 'e' + big-endian u64 sequence -> event, 'i' + id -> item
// record, 'u' + id -> user record, 'o' + stream -> the position reached in an external log.
// Thread-safety: every method may be called concurrently.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nudge/serve/options.h"
#include "nudge/serve/records.h"
#include "nudge/status.h"

namespace rocksdb {
class FileSystem;
}

namespace nudge::serve {

class EventStore {
 public:
  using Done = std::function<void(const Status& status, uint64_t first_sequence)>;

  static Result<std::unique_ptr<EventStore>> open(const std::string& dir, EventStoreOptions options = {});
  ~EventStore();  // waits for queued appends, then closes
  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;

  // Queues events for the next group commit. `done` runs on the committer thread, in commit
  // order, once they are durable (or the write failed); keep it short. `positions` are
  // written atomically with the events (events may be empty: only positions move).
  void append_async(std::vector<Event> events, Done done, std::vector<StreamPosition> positions = {});
  // Blocking form of append_async.
  Status append(std::vector<Event> events);

  // Items and users are written synchronously (they are rare next to events).
  Status put_item(const ItemRecord& item);
  Status put_user(const UserRecord& user);

  // Writes the memtable to tables and syncs, so nothing lives only in the write-ahead log.
  Status flush();

  // Full scans over a consistent snapshot, in key order (events by sequence). A record that
  // does not decode is logged with its key and skipped (counted in records_skipped()): one
  // damaged record must not keep the server from starting.
  Status scan_events(const std::function<void(uint64_t sequence, Event&& event)>& fn) const;
  Status scan_items(const std::function<void(ItemRecord&& item)>& fn) const;
  Status scan_users(const std::function<void(UserRecord&& user)>& fn) const;

  // The position last stored for `stream`; -1 when none was.
  Result<int64_t> stream_position(const std::string& stream) const;

  uint64_t num_events() const;       // == next sequence number
  uint64_t num_commits() const;      // WriteBatches written (group-commit effectiveness)
  uint64_t records_skipped() const;  // records the scans skipped because they do not decode
  uint64_t damaged_events() const;   // events left out of a damaged log (skip_damaged_log)
  StoreHealth health() const;

  struct Impl;

 private:
  explicit EventStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nudge::serve
