#include "serve/store_recovery.h"

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>

#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "serve/record_codec.h"

namespace nudge::serve {
namespace fs = std::filesystem;

uint64_t read_acknowledged(const std::string& store_dir) {
  std::ifstream in(store_dir + "/" + kAcknowledgedFile);
  uint64_t n = 0;
  return in >> n ? n : 0;
}

void DamageLog::Logv(const char* format, va_list ap) {
  char text[1024];
  std::vsnprintf(text, sizeof text, format, ap);
  // RocksDB's log reporter: "[(ignoring error) ]<path>: dropping <n> bytes; <status>".
  const std::string_view line(text);
  constexpr std::string_view kDropping = ": dropping ";
  const size_t at = line.find(kDropping);
  if (at == std::string_view::npos) return;
  LogDamage d;
  std::string_view path = line.substr(0, at);
  if (const size_t paren = path.find(") "); path.starts_with("(") && paren != std::string_view::npos)
    path.remove_prefix(paren + 2);
  d.file = fs::path(std::string(path)).filename().string();
  std::string_view rest = line.substr(at + kDropping.size());
  d.bytes = std::strtoull(std::string(rest).c_str(), nullptr, 10);
  if (const size_t semi = rest.find("; "); semi != std::string_view::npos)
    d.reason = std::string(rest.substr(semi + 2));
  std::lock_guard lock(mutex_);
  damage_.push_back(std::move(d));
}

std::vector<LogDamage> DamageLog::damage() const {
  std::lock_guard lock(mutex_);
  return damage_;
}

Status check_store_directory(const std::string& dir, bool* fresh) {
  std::error_code ec;
  *fresh = false;
  if (!fs::exists(dir, ec)) {
    *fresh = true;
    return Status::ok();
  }
  if (!fs::is_directory(dir, ec)) return Status::invalid_argument("event store " + dir + ": not a directory");
  if (fs::exists(fs::path(dir) / "CURRENT", ec)) return Status::ok();
  size_t tables = 0, logs = 0, manifests = 0, other = 0;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".sst")) ++tables;
    else if (name.ends_with(".log")) ++logs;
    else if (name.starts_with("MANIFEST-")) ++manifests;
    else if (name != "LOG" && !name.starts_with("LOG.old") && name != "LOCK") ++other;
  }
  if (ec) return Status::io_error("event store " + dir + ": cannot list: " + ec.message());
  if (tables + logs + manifests + other == 0) {
    *fresh = true;  // empty, or only a LOG/LOCK left by a first start that failed
    return Status::ok();
  }
  return Status::corruption("event store " + dir + ": CURRENT is missing but the directory holds data (" +
                            std::to_string(tables) + " .sst, " + std::to_string(logs) + " .log, " +
                            std::to_string(manifests) +
                            " MANIFEST files): the store is damaged and was not "
                            "opened; run 'nudge store repair' on the data directory (it keeps a copy and deletes "
                            "nothing) or 'nudge store restore' from a backup");
}

rocksdb::Options store_options(rocksdb::Env* env, bool create_if_missing) {
  rocksdb::Options ro;
  if (env) ro.env = env;
  ro.create_if_missing = create_if_missing;
  ro.IncreaseParallelism(2);
  // Events are written once and read back in full at startup and retrain: favour write speed.
  ro.compression = rocksdb::kLZ4Compression;
  // RocksDB's default (point in time) stops at the first bad record and silently drops every
  // acknowledged write after it. A torn last write is what a crash leaves; anything else in the
  // log is damage and must stop the open (EventStoreOptions::skip_damaged_log opts out).
  ro.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  ro.keep_log_file_num = 10;
  return ro;
}

Result<StoreInspection> inspect_store(const std::string& dir, rocksdb::Env* env, bool verify_checksums) {
  bool fresh = false;
  NUDGE_RETURN_IF_ERROR(check_store_directory(dir, &fresh));
  if (fresh) return Status::not_found("event store " + dir + ": no store there");
  rocksdb::Options ro = store_options(env, false);
  ro.wal_recovery_mode = rocksdb::WALRecoveryMode::kSkipAnyCorruptedRecords;
  auto log = std::make_shared<DamageLog>();
  ro.info_log = log;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status opened = rocksdb::DB::OpenForReadOnly(ro, dir, &raw);
  if (!opened.ok()) return Status::corruption("event store " + dir + ": cannot be read: " + opened.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  StoreInspection out;
  out.log_damage = log->damage();
  if (verify_checksums) {
    const rocksdb::Status v = db->VerifyChecksum();
    out.checksums = v.ok() ? Status::ok() : Status::corruption(v.ToString());
  }
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    const std::string_view value(it->value().data(), it->value().size());
    const char prefix = key.empty() ? '\0' : key[0];
    if (prefix == kEventPrefix) {
      uint64_t seq = 0;
      Event e;
      if (!parse_event_key(key, &seq)) {
        ++out.undecodable;
        continue;
      }
      out.next_sequence = std::max(out.next_sequence, seq + 1);
      if (decode_event(value, &e)) ++out.events;
      else ++out.undecodable;
    } else if (prefix == kItemPrefix) {
      ItemRecord item;
      if (decode_item(value, &item) && item.id == key.substr(1)) ++out.items;
      else ++out.undecodable;
    } else if (prefix == kUserPrefix) {
      ++out.users;
    } else if (prefix == kPositionPrefix) {
      int64_t next = 0;
      if (decode_position(value, &next)) ++out.positions;
      else ++out.undecodable;
    } else {
      ++out.undecodable;
    }
  }
  if (!it->status().ok()) return Status::corruption("event store " + dir + ": " + it->status().ToString());
  out.missing_events = out.next_sequence - std::min(out.next_sequence, out.events + out.undecodable);
  return out;
}

uint64_t events_lost(const StoreInspection& seen, uint64_t acknowledged) {
  return seen.missing_events + (acknowledged > seen.next_sequence ? acknowledged - seen.next_sequence : 0);
}

std::vector<LogDamage> damage_by_file(const std::vector<LogDamage>& damage) {
  std::vector<LogDamage> out;
  for (const LogDamage& d : damage) {
    if (!out.empty() && out.back().file == d.file) {
      out.back().bytes += d.bytes;  // the first reason is the damage; the rest follow from it
      continue;
    }
    out.push_back(d);
  }
  return out;
}

std::string describe_damage(const std::vector<LogDamage>& damage) {
  std::string out;
  for (const LogDamage& d : damage_by_file(damage)) {
    if (!out.empty()) out += "; ";
    out += d.file + ": " + std::to_string(d.bytes) + " bytes unreadable from the first damage on (" + d.reason + ")";
  }
  return out;
}

}  // namespace nudge::serve
