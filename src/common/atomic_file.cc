#include "common/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace nudge {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), tmp_(path_ + ".tmp") {
  file_ = std::fopen(tmp_.c_str(), "wb");
  if (!file_) status_ = Status::io_error("cannot write '" + tmp_ + "': " + std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (!file_) return;
  std::fclose(file_);
  std::remove(tmp_.c_str());
}

void AtomicFile::append(std::string_view bytes) {
  if (file_ && !write_failed_ && std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size())
    write_failed_ = true;
}

Status AtomicFile::commit() {
  if (!file_) return status_.is_ok() ? Status::io_error("'" + tmp_ + "' already committed") : status_;
  // The first step that fails names the error; fsync: the bytes are on disk before the name
  // points at them.
  int err = write_failed_ ? EIO : 0;
  if (!err && std::fflush(file_) != 0) err = errno;
  if (!err && ::fsync(fileno(file_)) != 0) err = errno;
  if (std::fclose(file_) != 0 && !err) err = errno;
  file_ = nullptr;
  if (err) {
    std::remove(tmp_.c_str());
    return Status::io_error("error writing '" + tmp_ + "': " + std::strerror(err));
  }
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    err = errno;
    std::remove(tmp_.c_str());
    return Status::io_error("cannot rename '" + tmp_ + "' to '" + path_ + "': " + std::strerror(err));
  }
  return Status::ok();
}

Status write_file_atomically(const std::string& path, std::initializer_list<std::string_view> pieces) {
  AtomicFile file(path);
  NUDGE_RETURN_IF_ERROR(file.status());
  for (std::string_view p : pieces) file.append(p);
  return file.commit();
}

Status copy_file_atomically(const std::string& from, const std::string& to) {
  std::error_code error;
  std::filesystem::copy_file(from, to + ".tmp", std::filesystem::copy_options::overwrite_existing, error);
  if (!error) std::filesystem::rename(to + ".tmp", to, error);
  if (error) return Status::io_error("cannot copy " + from + " into " + to + ": " + error.message());
  return Status::ok();
}

}  // namespace nudge
