// What the event store does before and while it opens a RocksDB directory, shared by
// EventStore::open and the operator's tools (store_admin.h): the check that refuses to create
// a database over existing data files, the RocksDB options every open uses, and an
// inspection that reads a store without changing it and reports what is damaged.
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/options.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "nudge/status.h"

namespace nudge::serve {

// The file next to the data that holds the sequence every acknowledged event is below
// (docs/formats/event-store.md), and its reader: 0 when it is missing or unreadable.
inline constexpr const char* kAcknowledgedFile = "NUDGE-ACKNOWLEDGED";
uint64_t read_acknowledged(const std::string& store_dir);

// One stretch of the write-ahead log that recovery could not read.
struct LogDamage {
  std::string file;  // e.g. "000012.log"
  uint64_t bytes = 0;
  std::string reason;  // RocksDB's: "Corruption: checksum mismatch"
};

// Keeps the "dropping N bytes" reports RocksDB's log recovery makes; everything else is dropped
// (this logger serves inspections, which must not write a LOG file into the store).
class DamageLog : public rocksdb::Logger {
 public:
  DamageLog() : Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using Logger::Logv;
  void Logv(const char* format, va_list ap) override;
  std::vector<LogDamage> damage() const;

 private:
  mutable std::mutex mutex_;
  std::vector<LogDamage> damage_;
};

// OK when `dir` is missing or empty (*fresh = true: a new store may be created there) or holds
// a RocksDB CURRENT file (*fresh = false). A directory with files but no CURRENT is damaged:
// Corruption naming what is there and the repair, never a new empty database over it.
Status check_store_directory(const std::string& dir, bool* fresh);

// The options of every open of an event store. `env` may be null (the machine's). Log
// recovery tolerates a torn last write (normal after a crash) and fails on anything else.
rocksdb::Options store_options(rocksdb::Env* env, bool create_if_missing);

// A read-only look at a store: record counts, the events missing from the sequence, and the
// damage in the write-ahead log (read past, as RocksDB's skip-any-corrupted mode does).
struct StoreInspection {
  uint64_t events = 0, items = 0, users = 0, positions = 0;
  uint64_t undecodable = 0;     // records whose key or value does not decode
  uint64_t next_sequence = 0;   // the last event's sequence + 1
  uint64_t missing_events = 0;  // sequences below next_sequence with no event
  std::vector<LogDamage> log_damage;
  Status checksums;  // every .sst block verified (only when asked for)
};
Result<StoreInspection> inspect_store(const std::string& dir, rocksdb::Env* env, bool verify_checksums);
// Events an open would not have: the gaps in the sequence, and those acknowledged past its end.
uint64_t events_lost(const StoreInspection& seen, uint64_t acknowledged);

// The reports of one file added up, with the first one's reason (what follows a damaged
// record is reported again and again as "missing start of fragmented record").
std::vector<LogDamage> damage_by_file(const std::vector<LogDamage>& damage);
// One line for messages: "000012.log: 32768 bytes unreadable from the first damage on (...)".
std::string describe_damage(const std::vector<LogDamage>& damage);

}  // namespace nudge::serve
