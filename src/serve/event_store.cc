#include "serve/event_store.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/iterator.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <thread>

#include "nudge/log.h"
#include "serve/record_codec.h"
#include "serve/store_recovery.h"

namespace nudge::serve {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The sequence every acknowledged event is below, kept in a small file next to the data and
// written before each acknowledgement (synced at most this often: a process crash keeps it
// exact, a power loss may leave it behind, never ahead): a log that lost acknowledged events
// at its end (truncated, or damaged where a torn write would be) then reads as damage.
constexpr auto kAcknowledgedSyncEvery = std::chrono::seconds(1);
// Free space a recovery attempt asks for before it reopens the database.
constexpr size_t kProbeBytes = 1 << 20;

Status from_rocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::ok();
  if (s.IsCorruption()) return Status::corruption(std::string(what) + ": " + s.ToString());
  if (s.IsNoSpace()) return Status::no_space(std::string(what) + ": " + s.ToString());
  return Status::io_error(std::string(what) + ": " + s.ToString());
}

// The last event's sequence + 1 (0 for none), or an error.
Result<uint64_t> next_sequence_of(rocksdb::DB* db, const std::string& dir) {
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  it->SeekForPrev(std::string(1, kEventPrefix) + std::string(8, '\xff'));
  uint64_t next = 0;
  if (it->Valid() && !it->key().empty() && it->key()[0] == kEventPrefix) {
    uint64_t last = 0;
    if (!parse_event_key(std::string_view(it->key().data(), it->key().size()), &last))
      return Status::corruption("event store " + dir + ": bad event key " + printable_key(it->key().ToStringView()));
    next = last + 1;
  }
  NUDGE_RETURN_IF_ERROR(from_rocks(it->status(), "event store: open " + dir));
  return next;
}

}  // namespace

struct EventStore::Impl {
  std::string dir;
  EventStoreOptions options;
  std::unique_ptr<rocksdb::Env> env;   // over options.file_system; outlives db
  rocksdb::Options rocks;              // every (re)open uses these
  mutable std::shared_mutex db_mutex;  // shared: any use of db; exclusive: a reopen
  std::unique_ptr<rocksdb::DB> db;     // null only while a reopen failed

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
  std::atomic<uint64_t> damaged{0};
  std::thread committer;

  // Health: writable flips to false on the first failed write, back to true by recover().
  std::atomic<bool> writable{true};
  mutable std::mutex health_mutex;
  std::string problem;  // guarded by health_mutex
  bool problem_is_space = false;
  std::atomic<uint64_t> write_failures{0}, recoveries{0};
  // Committer thread only: each stream's last position written successfully (loaded at open),
  // and the streams of batches that failed since, whose positions recover() puts back.
  std::map<std::string, int64_t> committed_positions;
  std::set<std::string> failed_streams;
  Clock::time_point last_recovery_attempt{};
  int acknowledged_fd = -1;  // kAcknowledgedFile, rewritten in place
  uint64_t acknowledged_written = 0;
  bool acknowledged_dirty = false;  // written since the last sync
  Clock::time_point last_acknowledged_sync{};

  void commit_loop();
  Status write(rocksdb::WriteBatch* batch, std::string_view what);
  Status refused(std::string_view what) const;
  void mark_failed(const rocksdb::Status& s);
  void recover();
  bool probe_space();
  void note_acknowledged(bool force);
  Status scan_prefix(char prefix, const std::function<Status(std::string_view key, std::string_view value)>& fn) const;
  // Reports a record that does not decode; scans go on without it.
  void skip(std::string_view kind, std::string_view key) const;
  mutable std::atomic<uint64_t> skipped{0};

  // The steps of EventStore::open, in order.
  Status open_db(bool fresh, uint64_t acknowledged);
  Status open_without_damaged_log(uint64_t acknowledged, rocksdb::DB** opened_db, rocksdb::Status* opened);
  Status check_acknowledged(uint64_t acknowledged);
  Status load_positions();
};

namespace {

// Any background error (a flush or compaction that ran out of space) makes the store refuse
// writes; RocksDB's own recovery is turned off: the store's reopen (recover()) replaces it, so
// no write ever goes to a log file that has already failed.
class StoreListener : public rocksdb::EventListener {
 public:
  explicit StoreListener(EventStore::Impl* impl) : impl_(impl) {}
  void OnBackgroundError(rocksdb::BackgroundErrorReason, rocksdb::Status* error) override {
    if (error && !error->ok()) impl_->mark_failed(*error);
  }
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status, bool* auto_recovery) override {
    if (auto_recovery) *auto_recovery = false;
  }

 private:
  EventStore::Impl* impl_;
};

}  // namespace

Status EventStore::Impl::refused(std::string_view what) const {
  std::lock_guard lock(health_mutex);
  const std::string message = std::string(what) + ": the store is not taking writes (" + problem +
                              "); nothing was stored, and writes resume by themselves once space returns";
  return problem_is_space ? Status::no_space(message) : Status::io_error(message);
}

void EventStore::Impl::mark_failed(const rocksdb::Status& s) {
  std::lock_guard lock(health_mutex);
  problem = s.ToString();
  problem_is_space = s.IsNoSpace();
  if (writable.exchange(false))
    spdlog::error("event store {}: a write failed ({}); writes are refused until it can write again", dir, problem);
}

Status EventStore::Impl::write(rocksdb::WriteBatch* batch, std::string_view what) {
  std::shared_lock lock(db_mutex);
  if (!writable.load() || !db) {
    write_failures.fetch_add(1);
    return refused(what);
  }
  rocksdb::WriteOptions wo;
  wo.sync = options.sync;
  const rocksdb::Status s = db->Write(wo, batch);
  if (s.ok()) return Status::ok();
  write_failures.fetch_add(1);
  mark_failed(s);
  return refused(what);
}

bool EventStore::Impl::probe_space() {
  const std::shared_ptr<rocksdb::FileSystem>& files = rocks.env->GetFileSystem();
  const std::string probe = dir + "/nudge-space-probe";
  std::unique_ptr<rocksdb::FSWritableFile> f;
  rocksdb::IOStatus s = files->NewWritableFile(probe, rocksdb::FileOptions(), &f, nullptr);
  if (s.ok()) s = f->Append(rocksdb::Slice(std::string(kProbeBytes, '\0')), rocksdb::IOOptions(), nullptr);
  if (s.ok()) s = f->Sync(rocksdb::IOOptions(), nullptr);
  if (f) f->Close(rocksdb::IOOptions(), nullptr).PermitUncheckedError();
  files->DeleteFile(probe, rocksdb::IOOptions(), nullptr).PermitUncheckedError();
  return s.ok();
}

void EventStore::Impl::recover() {
  last_recovery_attempt = Clock::now();
  if (!probe_space()) return;
  std::unique_lock lock(db_mutex);
  if (db) db->Close().PermitUncheckedError();  // the failed database: its writers are not used again
  db.reset();
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(rocks, dir, &raw);
  if (!s.ok()) {
    std::lock_guard health(health_mutex);
    problem = "reopening after a failed write: " + s.ToString();
    problem_is_space = s.IsNoSpace();
    return;
  }
  db.reset(raw);
  // A failed batch may have reached the log whole (the sync failed, not the append): it was
  // not acknowledged, so neither its events nor its stream positions may stay (a position
  // left moved would make the Kafka source skip the messages it retries).
  rocksdb::WriteBatch undo;
  auto last = next_sequence_of(db.get(), dir);
  const uint64_t ghosts = last.is_ok() && *last > next_sequence.load() ? *last - next_sequence.load() : 0;
  if (ghosts > 0)
    undo.DeleteRange(event_key(next_sequence.load()), std::string(1, static_cast<char>(kEventPrefix + 1)));
  for (const std::string& stream : failed_streams) {
    auto known = committed_positions.find(stream);
    if (known == committed_positions.end()) undo.Delete(position_key(stream));
    else undo.Put(position_key(stream), encode_position(known->second));
  }
  if (undo.Count() > 0) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = db->Write(wo, &undo);
    if (!s.ok()) return mark_failed(s);
    if (ghosts > 0) spdlog::warn("event store {}: dropped {} unacknowledged events of a failed write", dir, ghosts);
  }
  failed_streams.clear();
  writable.store(true);
  recoveries.fetch_add(1);
  spdlog::info("event store {}: writes resumed", dir);
}

void EventStore::Impl::note_acknowledged(bool sync_now) {
  if (acknowledged_fd < 0) return;
  // Best effort: on a full disk this fails, and only the check it enables is lost.
  const uint64_t next = next_sequence.load();
  if (next != acknowledged_written) {
    char text[24];
    const int n = std::snprintf(text, sizeof text, "%020llu\n", static_cast<unsigned long long>(next));
    if (::pwrite(acknowledged_fd, text, static_cast<size_t>(n), 0) == n) {
      acknowledged_written = next;
      acknowledged_dirty = true;
    }
  }
  if (acknowledged_dirty && (sync_now || Clock::now() - last_acknowledged_sync >= kAcknowledgedSyncEvery)) {
    last_acknowledged_sync = Clock::now();
    if (::fdatasync(acknowledged_fd) == 0) acknowledged_dirty = false;
  }
}

void EventStore::Impl::commit_loop() {
  const auto interval = std::chrono::duration<double>(options.recovery_interval_s);
  for (;;) {
    std::vector<Pending> batch;
    {
      std::unique_lock lock(mutex);
      auto ready = [&] { return stopping || !queue.empty(); };
      if (writable.load()) wake.wait_for(lock, kAcknowledgedSyncEvery, ready);
      else wake.wait_for(lock, interval, ready);
      if (stopping && queue.empty()) break;
      batch.swap(queue);
    }
    if (!writable.load() && Clock::now() - last_recovery_attempt >= interval) recover();
    if (batch.empty()) {
      note_acknowledged(false);
      continue;
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
      for (const Pending& p : batch)
        for (const StreamPosition& pos : p.positions) {
          if (s.is_ok()) committed_positions[pos.stream] = pos.next;
          else failed_streams.insert(pos.stream);
        }
      if (s.is_ok()) {
        next_sequence.store(seq);
        commits.fetch_add(1);
        note_acknowledged(false);  // before the acknowledgements
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
  note_acknowledged(true);
}

Status EventStore::Impl::scan_prefix(char prefix,
                                     const std::function<Status(std::string_view, std::string_view)>& fn) const {
  std::shared_lock lock(db_mutex);
  if (!db) return refused("event store: scan");
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
  if (impl_->acknowledged_fd >= 0) ::close(impl_->acknowledged_fd);
}

// A damaged log (not a torn tail, which RocksDB drops itself): what is damaged is found out
// first, with a read-only look that reads past it; the store then opens only with
// skip_damaged_log, after the log is copied aside.
Status EventStore::Impl::open_without_damaged_log(uint64_t acknowledged, rocksdb::DB** opened_db,
                                                  rocksdb::Status* opened) {
  auto seen = inspect_store(dir, env.get(), false);
  if (!seen.is_ok()) return from_rocks(*opened, "event store: open " + dir);
  const uint64_t lost = events_lost(*seen, acknowledged);
  const std::string damage = "the write-ahead log is damaged (" + describe_damage(seen->log_damage) +
                             "): " + std::to_string(lost) + " stored events would be lost";
  if (!options.skip_damaged_log)
    return Status::corruption("event store " + dir + ": " + damage +
                              ". Not opened: restore a backup ('nudge store restore'), or start with "
                              "--skip-damaged-log to serve without them (the log is copied aside first)");
  const std::string aside = dir + ".damaged-log-" + std::to_string(std::time(nullptr));
  std::error_code ec;
  fs::create_directories(aside, ec);
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().extension() == ".log") fs::copy_file(entry.path(), aside / entry.path().filename(), ec);
  if (ec)
    return Status::io_error("event store " + dir + ": cannot copy the damaged log to " + aside + ": " + ec.message());
  rocks.wal_recovery_mode = rocksdb::WALRecoveryMode::kSkipAnyCorruptedRecords;
  *opened = rocksdb::DB::Open(rocks, dir, opened_db);
  rocks.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  if (opened->ok()) {
    damaged = lost;
    spdlog::error("event store {}: {}; started without them (--skip-damaged-log), the log was copied to {}", dir,
                  damage, aside);
  }
  return Status::ok();
}

Status EventStore::Impl::open_db(bool fresh, uint64_t acknowledged) {
  rocksdb::DB* opened_db = nullptr;
  rocksdb::Status opened = rocksdb::DB::Open(rocks, dir, &opened_db);
  if (opened.IsCorruption() && !fresh)
    NUDGE_RETURN_IF_ERROR(open_without_damaged_log(acknowledged, &opened_db, &opened));
  if (!opened.ok() && !fresh && !opened.IsNoSpace())
    return Status::corruption("event store " + dir + ": cannot be opened: " + opened.ToString() +
                              ". The store is damaged and was not changed: 'nudge store check' says what is "
                              "there, 'nudge store repair' rebuilds it from its files (keeping a copy), or "
                              "restore a backup ('nudge store restore')");
  NUDGE_RETURN_IF_ERROR(from_rocks(opened, "event store: open " + dir));
  db.reset(opened_db);
  rocks.create_if_missing = false;  // a reopen after a failed write finds the store there
  return Status::ok();
}

// Events acknowledged (the acknowledged file) but missing from the end of the log: the log
// was truncated. Refused, or with skip_damaged_log counted as damaged and served without.
Status EventStore::Impl::check_acknowledged(uint64_t acknowledged) {
  const uint64_t next = next_sequence.load();
  if (acknowledged <= next || damaged.load() != 0) return Status::ok();
  if (!options.skip_damaged_log)
    return Status::corruption("event store " + dir + ": " + std::to_string(acknowledged - next) +
                              " acknowledged events are missing from the end of the write-ahead log (" +
                              std::to_string(next) + " stored, " + std::to_string(acknowledged) +
                              " acknowledged): it was truncated or damaged. Not opened: restore a backup "
                              "('nudge store restore'), or start with --skip-damaged-log to serve without them");
  damaged = acknowledged - next;
  spdlog::error("event store {}: {} acknowledged events are missing from the end of the log; started without them", dir,
                acknowledged - next);
  return Status::ok();
}

Status EventStore::Impl::load_positions() {
  return scan_prefix(kPositionPrefix, [&](std::string_view key, std::string_view value) {
    int64_t next_offset = 0;
    if (decode_position(value, &next_offset)) committed_positions[std::string(key.substr(1))] = next_offset;
    return Status::ok();
  });
}

Result<std::unique_ptr<EventStore>> EventStore::open(const std::string& dir, EventStoreOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->options = options;
  if (options.file_system) impl->env = rocksdb::NewCompositeEnv(options.file_system);
  bool fresh = false;
  NUDGE_RETURN_IF_ERROR(check_store_directory(dir, &fresh));
  if (fresh) {
    std::error_code ec;
    fs::create_directories(dir, ec);  // RocksDB makes only the last level
  }
  impl->rocks = store_options(impl->env.get(), fresh);
  impl->rocks.listeners.push_back(std::make_shared<StoreListener>(impl.get()));

  const uint64_t acknowledged = read_acknowledged(dir);
  NUDGE_RETURN_IF_ERROR(impl->open_db(fresh, acknowledged));
  NUDGE_ASSIGN_OR_RETURN(const uint64_t next, next_sequence_of(impl->db.get(), dir));
  impl->next_sequence = next;
  NUDGE_RETURN_IF_ERROR(impl->check_acknowledged(acknowledged));
  NUDGE_RETURN_IF_ERROR(impl->load_positions());
  impl->acknowledged_written = acknowledged;
  impl->acknowledged_fd = ::open((dir + "/" + kAcknowledgedFile).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (impl->acknowledged_fd < 0)
    spdlog::warn("event store {}: cannot write {}: {}", dir, kAcknowledgedFile, std::strerror(errno));
  // Started without damaged events on purpose (else refused above): the record becomes what
  // is there now.
  if (acknowledged > next) impl->note_acknowledged(true);
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

Status EventStore::flush() {
  std::shared_lock lock(impl_->db_mutex);
  if (!impl_->writable.load() || !impl_->db) return impl_->refused("event store: flush");
  rocksdb::FlushOptions fo;
  fo.wait = true;
  const rocksdb::Status s = impl_->db->Flush(fo);
  if (!s.ok()) impl_->mark_failed(s);
  return from_rocks(s, "event store: flush");
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
  rocksdb::Status s;
  {
    std::shared_lock lock(impl_->db_mutex);
    if (!impl_->db) return impl_->refused("event store: read position of " + stream);
    s = impl_->db->Get(rocksdb::ReadOptions(), position_key(stream), &value);
  }
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
uint64_t EventStore::damaged_events() const { return impl_->damaged.load(); }

StoreHealth EventStore::health() const {
  StoreHealth h;
  h.writable = impl_->writable.load();
  h.write_failures = impl_->write_failures.load();
  h.recoveries = impl_->recoveries.load();
  if (!h.writable) {
    std::lock_guard lock(impl_->health_mutex);
    h.problem = impl_->problem;
  }
  return h;
}

}  // namespace nudge::serve
