// FaultFileSystem: a RocksDB FileSystem over the machine's that runs out of space on demand,
// the way a small disk does: writes succeed until the space left is used up, the write that
// crosses it stores the bytes that fit and fails with NoSpace (a torn write), and every write
// after that fails until space is given back. Creating a file fails too while the disk is
// full. Reads and deletes always work (deleting does not give space back: the test decides).
//
// The store's tests and the full-disk scenario use it (EventStoreOptions::file_system); the
// same code paths then run as on a real full disk, without needing root for a small mount.
// Thread-safety: every method may be called concurrently.
#pragma once

#include <rocksdb/file_system.h>

#include <atomic>
#include <cstdint>
#include <memory>

namespace nudge::serve {

class FaultFileSystem : public rocksdb::FileSystemWrapper {
 public:
  static constexpr int64_t kUnlimited = -1;

  FaultFileSystem() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "NudgeFaultFileSystem"; }

  // Bytes that may still be written (appends and syncs count what they write); kUnlimited
  // (the default) never fails. 0: the disk is full now.
  void set_space_left(int64_t bytes) { space_left_.store(bytes); }
  int64_t space_left() const { return space_left_.load(); }
  // Syncs fail with NoSpace while set, appends still land: a write whose bytes reached the
  // file but was never made durable (as with delayed allocation on a full disk).
  void set_fail_syncs(bool fail) { fail_syncs_.store(fail); }
  bool syncs_fail() const { return fail_syncs_.load() || space_left_.load() == 0; }
  // Writes refused with NoSpace since the file system was made.
  uint64_t failed_writes() const { return failed_writes_.load(); }

  // Takes up to `n` bytes of space; false (and nothing taken) when the disk is already full,
  // else *granted is how many of the n fit (n when there is room for all).
  bool take_space(uint64_t n, uint64_t* granted);
  rocksdb::IOStatus no_space();

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& name, const std::string& old_name,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override;

 private:
  rocksdb::IOStatus wrap(rocksdb::IOStatus opened, std::unique_ptr<rocksdb::FSWritableFile>* result);

  std::atomic<int64_t> space_left_{kUnlimited};
  std::atomic<uint64_t> failed_writes_{0};
  std::atomic<bool> fail_syncs_{false};
};

}  // namespace nudge::serve
