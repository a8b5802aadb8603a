#include "nudge/serve/store_admin.h"

#include <fcntl.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>

#include "common/atomic_file.h"
#include "serve/store_recovery.h"

namespace nudge::serve {
namespace {
namespace fs = std::filesystem;

constexpr size_t kCopyBatch = 10000;  // records per WriteBatch of a backup

std::string stamp() { return std::to_string(std::time(nullptr)); }

// True when another process holds the store's RocksDB lock (a running server).
bool in_use(const std::string& store) {
  const int fd = ::open((store + "/LOCK").c_str(), O_RDWR);
  if (fd < 0) return false;
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  const bool held = ::fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;
  ::close(fd);
  return held;
}

Status refuse_in_use(const std::string& store, std::string_view what) {
  if (!in_use(store)) return Status::ok();
  return Status::invalid_argument("event store " + store + " is in use by a running server: stop it before " +
                                  std::string(what) + " (a backup can be taken while it runs)");
}

StoreCheck to_check(const std::string& store, const StoreInspection& seen) {
  StoreCheck c;
  c.store_dir = store;
  c.events = seen.events;
  c.items = seen.items;
  c.users = seen.users;
  c.positions = seen.positions;
  c.undecodable = seen.undecodable;
  c.next_sequence = seen.next_sequence;
  c.acknowledged = read_acknowledged(store);
  c.missing_events = events_lost(seen, c.acknowledged);
  for (const LogDamage& d : damage_by_file(seen.log_damage))
    c.problems.push_back(d.file + ": " + std::to_string(d.bytes) +
                         " bytes of the write-ahead log unreadable from the first damage on (" + d.reason + ")");
  if (!seen.checksums.is_ok()) c.problems.push_back("table checksums: " + seen.checksums.message());
  if (seen.undecodable > 0) c.problems.push_back(std::to_string(seen.undecodable) + " records do not decode");
  if (seen.missing_events > 0)
    c.problems.push_back(std::to_string(seen.missing_events) + " events missing from the sequence below " +
                         std::to_string(seen.next_sequence));
  if (c.acknowledged > seen.next_sequence)
    c.problems.push_back(std::to_string(c.acknowledged - seen.next_sequence) +
                         " acknowledged events missing from the end (" + std::to_string(seen.next_sequence) +
                         " stored, " + std::to_string(c.acknowledged) + " acknowledged)");
  return c;
}

Status copy_tree(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::copy(from, to, fs::copy_options::recursive, ec);
  if (ec) return Status::io_error("cannot copy " + from.string() + " to " + to.string() + ": " + ec.message());
  return Status::ok();
}

// Copies every record of `store` (read through a secondary instance, so a server may be
// writing it) into a new store at `dest`.
Status copy_records(const std::string& store, const std::string& dest, uint64_t* records) {
  const fs::path scratch = fs::path(dest).parent_path() / ("secondary-" + stamp());
  rocksdb::Options secondary = store_options(nullptr, false);
  secondary.max_open_files = -1;  // a secondary instance keeps every table open
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenAsSecondary(secondary, store, scratch.string(), &raw);
  if (!s.ok()) return Status::io_error("backup: cannot read " + store + ": " + s.ToString());
  std::unique_ptr<rocksdb::DB> source(raw);
  s = source->TryCatchUpWithPrimary();
  if (!s.ok()) return Status::io_error("backup: cannot catch up with " + store + ": " + s.ToString());
  s = rocksdb::DB::Open(store_options(nullptr, true), dest, &raw);
  if (!s.ok()) return Status::io_error("backup: cannot create " + dest + ": " + s.ToString());
  std::unique_ptr<rocksdb::DB> target(raw);
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(source->NewIterator(read));
  rocksdb::WriteBatch batch;
  auto flush_batch = [&] {
    rocksdb::WriteOptions wo;
    wo.disableWAL = true;  // the copy is flushed to tables below, then synced by RocksDB
    s = target->Write(wo, &batch);
    batch.Clear();
    return s.ok();
  };
  *records = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    batch.Put(it->key(), it->value());
    if (++*records % kCopyBatch == 0 && !flush_batch()) break;
  }
  if (s.ok() && !it->status().ok()) s = it->status();
  if (s.ok()) flush_batch();
  it.reset();
  if (s.ok()) s = target->Flush(rocksdb::FlushOptions());
  if (s.ok()) s = target->SyncWAL();
  if (s.ok()) s = target->Close();
  source.reset();
  std::error_code ec;
  fs::remove_all(scratch, ec);  // the secondary's own log files, never data
  if (!s.ok()) return Status::io_error("backup: copying " + store + ": " + s.ToString());
  return Status::ok();
}

}  // namespace

std::string event_store_dir(const std::string& data_dir) {
  std::error_code ec;
  if (!fs::exists(fs::path(data_dir) / "events", ec) && fs::exists(fs::path(data_dir) / "CURRENT", ec)) return data_dir;
  return (fs::path(data_dir) / "events").string();
}

Result<StoreCheck> check_store(const std::string& data_dir) {
  const std::string store = event_store_dir(data_dir);
  NUDGE_RETURN_IF_ERROR(refuse_in_use(store, "checking it"));
  NUDGE_ASSIGN_OR_RETURN(StoreInspection seen, inspect_store(store, nullptr, true));
  return to_check(store, seen);
}

Status repair_store(const std::string& data_dir, std::string* copy_dir, StoreCheck* after) {
  const std::string store = event_store_dir(data_dir);
  std::error_code ec;
  if (!fs::is_directory(store, ec)) return Status::not_found("repair: no event store at " + store);
  NUDGE_RETURN_IF_ERROR(refuse_in_use(store, "repairing it"));
  *copy_dir = store + ".before-repair-" + stamp();
  NUDGE_RETURN_IF_ERROR(copy_tree(store, *copy_dir));
  // What should be there: the acknowledged mark, or the highest sequence still readable.
  uint64_t expected = read_acknowledged(store);
  if (auto before = inspect_store(store, nullptr, false); before.is_ok())
    expected = std::max(expected, before->next_sequence);
  // Damaged log records are read past, not stopped at: repair keeps all it can read.
  rocksdb::Options options = store_options(nullptr, false);
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kSkipAnyCorruptedRecords;
  const rocksdb::Status s = rocksdb::RepairDB(store, options);
  if (!s.ok())
    return Status::io_error("repair of " + store + " failed: " + s.ToString() + " (the copy " + *copy_dir +
                            " is untouched)");
  NUDGE_ASSIGN_OR_RETURN(StoreInspection seen, inspect_store(store, nullptr, true));
  // The operator chose to go on with what could be read: what is lost is reported now, and
  // the store's record of acknowledged writes starts again from what is there.
  NUDGE_RETURN_IF_ERROR(
      write_file_atomically(store + "/" + kAcknowledgedFile, {std::to_string(seen.next_sequence), "\n"}));
  *after = to_check(store, seen);
  after->acknowledged = expected;
  after->missing_events = expected > seen.events ? expected - seen.events : 0;
  return Status::ok();
}

Status backup_store(const std::string& data_dir, const std::string& dest, StoreCheck* copied) {
  const std::string store = event_store_dir(data_dir);
  std::error_code ec;
  if (!fs::is_directory(store, ec)) return Status::not_found("backup: no event store at " + store);
  if (fs::exists(dest, ec)) return Status::invalid_argument("backup: " + dest + " exists; give a new directory");
  const fs::path partial = dest + ".partial";
  fs::remove_all(partial, ec);  // an earlier backup that was interrupted
  fs::create_directories(partial, ec);
  if (ec) return Status::io_error("backup: cannot create " + partial.string() + ": " + ec.message());
  uint64_t records = 0;
  NUDGE_RETURN_IF_ERROR(copy_records(store, (partial / "events").string(), &records));
  // The model files (and arms/), as they are: each is replaced by a rename, never rewritten.
  if (store != data_dir)
    for (const auto& entry : fs::directory_iterator(data_dir, ec)) {
      const std::string name = entry.path().filename().string();
      if (name == "events" || name.starts_with("events.")) continue;
      NUDGE_RETURN_IF_ERROR(copy_tree(entry.path(), partial / name));
    }
  NUDGE_ASSIGN_OR_RETURN(StoreInspection seen, inspect_store((partial / "events").string(), nullptr, true));
  NUDGE_RETURN_IF_ERROR(write_file_atomically((partial / "events" / kAcknowledgedFile).string(),
                                              {std::to_string(seen.next_sequence), "\n"}));
  *copied = to_check((partial / "events").string(), seen);
  if (!copied->ok()) return Status::corruption("backup: the copy does not check: " + copied->problems.front());
  fs::rename(partial, dest, ec);
  if (ec) return Status::io_error("backup: cannot rename " + partial.string() + " to " + dest + ": " + ec.message());
  copied->store_dir = (fs::path(dest) / "events").string();
  return Status::ok();
}

Status restore_store(const std::string& backup, const std::string& data_dir, std::string* moved_aside) {
  moved_aside->clear();
  NUDGE_ASSIGN_OR_RETURN(StoreCheck seen, check_store(backup));
  if (!seen.ok()) return Status::corruption("restore: the backup " + backup + " is damaged: " + seen.problems.front());
  std::error_code ec;
  if (fs::exists(data_dir, ec)) {
    NUDGE_RETURN_IF_ERROR(refuse_in_use(event_store_dir(data_dir), "restoring over it"));
    *moved_aside = data_dir + ".before-restore-" + stamp();
    fs::rename(data_dir, *moved_aside, ec);
    if (ec) return Status::io_error("restore: cannot move " + data_dir + " aside: " + ec.message());
  }
  const std::string partial = data_dir + ".partial";
  fs::remove_all(partial, ec);
  NUDGE_RETURN_IF_ERROR(copy_tree(backup, partial));
  fs::rename(partial, data_dir, ec);
  if (ec) return Status::io_error("restore: cannot rename " + partial + " to " + data_dir + ": " + ec.message());
  return Status::ok();
}

}  // namespace nudge::serve
