// Writing a whole file so that readers never see a half-written one (internal).
#pragma once

#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>

#include "nudge/status.h"

namespace nudge {

// Bytes go to "<path>.tmp"; commit() flushes and fsyncs it, then renames it over `path`.
// Until then `path` keeps its old contents, and a crash leaves at most the .tmp behind.
// Without commit() (an error on the way) the .tmp is removed.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Why the .tmp could not be opened, else ok.
  const Status& status() const { return status_; }
  void append(std::string_view bytes);
  Status commit();

 private:
  std::string path_, tmp_;
  std::FILE* file_ = nullptr;
  Status status_;
  bool write_failed_ = false;
};

// Writes `pieces`, in order, through an AtomicFile.
Status write_file_atomically(const std::string& path, std::initializer_list<std::string_view> pieces);

// Copies `from` to "<to>.tmp", then renames it over `to`: readers of `to` see the old file or
// the whole new one. (No fsync: for copies of files that can be made again.)
Status copy_file_atomically(const std::string& from, const std::string& to);

}  // namespace nudge
