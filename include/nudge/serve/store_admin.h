// The operator's tools for a server's data directory (the `-d` of nudge serve, whose event
// store is <dir>/events): check, repair, backup and restore, behind `nudge store`.
//
// None of them deletes data: repair first copies the store aside, restore moves the directory
// it replaces aside, backup writes a new directory. check, repair and restore refuse a store
// that a running server holds (its RocksDB lock); backup works while the server runs (it reads
// through a RocksDB secondary instance: a consistent copy of every event stored when it began).
// docs/serving.md ("Operations") says when to use which.
// Thread-safety: each call works on its own; do not run two on one directory at once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nudge/status.h"

namespace nudge::serve {

// What a read of every record found. ok() when nothing is damaged or missing.
struct StoreCheck {
  std::string store_dir;  // the RocksDB directory read
  uint64_t events = 0, items = 0, users = 0, positions = 0;
  uint64_t acknowledged = 0;          // the sequence acknowledged writes reached (0: not recorded)
  uint64_t next_sequence = 0;         // the last stored event's sequence + 1
  uint64_t missing_events = 0;        // acknowledged or earlier-sequence events not in the store
  uint64_t undecodable = 0;           // records whose key or value does not decode
  std::vector<std::string> problems;  // one line each: "000012.log: 32768 bytes damaged (...)"
  bool ok() const { return problems.empty(); }
};

// The event store directory of a data directory: <dir>/events, or `dir` itself when it is one.
std::string event_store_dir(const std::string& data_dir);

// Reads every record and the write-ahead log, verifies every .sst checksum; changes nothing.
// An error only when the store cannot be read at all (missing CURRENT, MANIFEST, or in use).
Result<StoreCheck> check_store(const std::string& data_dir);

// Rebuilds the store from the files it has (RocksDB's RepairDB: tables found, logs replayed up
// to damage), after copying it whole to <store>.before-repair-<time> (*copy_dir). What the
// repaired store holds is in *after; events that could not be brought back are its
// missing_events, and the record of acknowledged writes is reset to what is there.
Status repair_store(const std::string& data_dir, std::string* copy_dir, StoreCheck* after);

// A consistent copy of the data directory at `dest` (which must not exist): the events store
// record by record, the model files as they are. Written to <dest>.partial and renamed when
// whole, so an interrupted backup never leaves a `dest` that looks complete.
Status backup_store(const std::string& data_dir, const std::string& dest, StoreCheck* copied);

// Makes `data_dir` the backup's copy: the backup is checked first, an existing `data_dir` is
// moved to <data_dir>.before-restore-<time> (*moved_aside, empty when there was none).
Status restore_store(const std::string& backup, const std::string& data_dir, std::string* moved_aside);

}  // namespace nudge::serve
