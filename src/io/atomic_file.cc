#include "io/atomic_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace nudge {

Status write_file_atomically(const std::string& path, std::initializer_list<std::string_view> pieces) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return Status::io_error("cannot write '" + tmp + "': " + std::strerror(errno));
  bool ok = true;
  for (std::string_view p : pieces) ok = ok && std::fwrite(p.data(), 1, p.size(), f) == p.size();
  ok = (std::fflush(f) == 0) && ok;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) return Status::io_error("error writing '" + tmp + "'");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::io_error("cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(errno));
  }
  return Status::ok();
}

}  // namespace nudge
