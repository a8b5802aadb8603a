#include "serve/fault_file_system.h"

#include <algorithm>

namespace nudge::serve {
namespace {

// A file whose appends take space from the file system and whose syncs fail on a full disk.
class FaultWritableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultWritableFile(std::unique_ptr<rocksdb::FSWritableFile> file, FaultFileSystem* fs)
      : FSWritableFileOwnerWrapper(std::move(file)), fs_(fs) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    return append(data, [&](const rocksdb::Slice& part) { return target()->Append(part, options, dbg); });
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& /*verification*/,
                           rocksdb::IODebugContext* dbg) override {
    // The checksum covers the whole slice, so a part is appended without it.
    return append(data, [&](const rocksdb::Slice& part) { return target()->Append(part, options, dbg); });
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset, const rocksdb::IOOptions& options,
                                     rocksdb::IODebugContext* dbg) override {
    return append(data,
                  [&](const rocksdb::Slice& part) { return target()->PositionedAppend(part, offset, options, dbg); });
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset, const rocksdb::IOOptions& options,
                                     const rocksdb::DataVerificationInfo& /*verification*/,
                                     rocksdb::IODebugContext* dbg) override {
    return append(data,
                  [&](const rocksdb::Slice& part) { return target()->PositionedAppend(part, offset, options, dbg); });
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (fs_->syncs_fail()) return fs_->no_space();
    return target()->Sync(options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (fs_->syncs_fail()) return fs_->no_space();
    return target()->Fsync(options, dbg);
  }

 private:
  template <class Write>
  rocksdb::IOStatus append(const rocksdb::Slice& data, Write write) {
    uint64_t granted = 0;
    if (!fs_->take_space(data.size(), &granted)) return fs_->no_space();
    if (granted == data.size()) return write(data);
    // The write that crosses the limit stores what fits, as a real disk does: a torn write.
    rocksdb::IOStatus s = write(rocksdb::Slice(data.data(), granted));
    return s.ok() ? fs_->no_space() : s;
  }

  FaultFileSystem* fs_;
};

}  // namespace

bool FaultFileSystem::take_space(uint64_t n, uint64_t* granted) {
  int64_t left = space_left_.load();
  for (;;) {
    if (left == kUnlimited) {
      *granted = n;
      return true;
    }
    if (left == 0) return false;
    const int64_t take = std::min<int64_t>(left, static_cast<int64_t>(n));
    if (space_left_.compare_exchange_weak(left, left - take)) {
      *granted = static_cast<uint64_t>(take);
      return true;
    }
  }
}

rocksdb::IOStatus FaultFileSystem::no_space() {
  failed_writes_.fetch_add(1);
  return rocksdb::IOStatus::NoSpace("No space left on device (injected)");
}

rocksdb::IOStatus FaultFileSystem::wrap(rocksdb::IOStatus opened, std::unique_ptr<rocksdb::FSWritableFile>* result) {
  if (opened.ok()) *result = std::make_unique<FaultWritableFile>(std::move(*result), this);
  return opened;
}

rocksdb::IOStatus FaultFileSystem::NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                                   std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                   rocksdb::IODebugContext* dbg) {
  if (space_left() == 0) return no_space();
  return wrap(target()->NewWritableFile(name, options, result, dbg), result);
}

rocksdb::IOStatus FaultFileSystem::ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                      rocksdb::IODebugContext* dbg) {
  if (space_left() == 0) return no_space();
  return wrap(target()->ReopenWritableFile(name, options, result, dbg), result);
}

rocksdb::IOStatus FaultFileSystem::ReuseWritableFile(const std::string& name, const std::string& old_name,
                                                     const rocksdb::FileOptions& options,
                                                     std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                     rocksdb::IODebugContext* dbg) {
  if (space_left() == 0) return no_space();
  return wrap(target()->ReuseWritableFile(name, old_name, options, result, dbg), result);
}

}  // namespace nudge::serve
