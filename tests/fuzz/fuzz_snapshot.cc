// libFuzzer target: the embedded core's snapshot loader (C API). The bytes go to a file
// because the core memory-maps its input; a snapshot that opens must also serve queries.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "nudge/nudge_c.h"

namespace {
std::string scratch_path() {
  static const std::string path = "/tmp/nudge-fuzz-snapshot-" + std::to_string(getpid()) + ".bin";
  return path;
}

void exercise(const nudge_snapshot* snapshot) {
  const uint32_t n = nudge_snapshot_num_items(snapshot);
  const uint32_t dim = nudge_snapshot_dim(snapshot);
  if (n == 0 || dim == 0 || dim > 1024) return;
  std::vector<nudge_scored_item> out(8);
  size_t n_out = 0;
  std::vector<float> user(dim, 0.5f);
  nudge_snapshot_recommend_vector(snapshot, user.data(), nullptr, 0, out.size(), out.data(), &n_out);
  nudge_snapshot_similar(snapshot, 0, out.size(), out.data(), &n_out);
  char id[300];
  if (nudge_snapshot_item_id(snapshot, n - 1, id, sizeof id) >= 0) {
    uint32_t index = 0;
    nudge_snapshot_item_index(snapshot, id, &index);
  }
  nudge_user* u = nullptr;
  if (nudge_user_create(snapshot, &u) == NUDGE_OK) {
    nudge_user_record_event(u, 0, 1.f);
    nudge_user_recommend(u, out.size(), out.data(), &n_out);
    nudge_user_free(u);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = scratch_path();
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) std::abort();
  for (size_t done = 0; done < size;) {
    const ssize_t w = write(fd, data + done, size - done);
    if (w <= 0) std::abort();
    done += static_cast<size_t>(w);
  }
  close(fd);
  for (unsigned flags : {0u, NUDGE_OPEN_VERIFY}) {
    nudge_snapshot* snapshot = nullptr;
    if (nudge_snapshot_open(path.c_str(), flags, &snapshot) == NUDGE_OK) {
      exercise(snapshot);
      nudge_snapshot_free(snapshot);
    }
  }
  unlink(path.c_str());
  return 0;
}
