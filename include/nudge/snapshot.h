// Snapshots: a fitted iALS model exported for the embedded core (nudge_c.h).
//
// The file is laid out for mmap (docs/formats/snapshot.md): a 256-byte header with its own
// checksum, then 64-byte-aligned sections: item vectors (float32, or int8 with one float
// scale per row), the Gram matrix Y^T Y and regularisation for on-device fold-in, item
// popularity (cold start), vector norms (similar items) and the item IDs with a sorted
// index. Nothing is parsed at load time.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "nudge/id_map.h"
#include "nudge/models/ials.h"
#include "nudge/status.h"

namespace nudge {

struct SnapshotOptions {
  bool int8 = false;  // quantise item vectors to int8 with a per-row scale (~4x smaller)
};

// Symmetric per-row int8 quantisation: scale_r = max_k |v_rk| / 127, q = round(v / scale).
// A zero row gets scale 1 and zeros.
void quantise_rows(const float* data, size_t rows, size_t dim, std::vector<int8_t>* q, std::vector<float>* scales);

// Writes atomically (path.tmp, then rename). `popularity` has one entry per item.
Status write_snapshot(const IalsModel& model, const IdMap& items, std::span<const float> popularity,
                      const SnapshotOptions& options, const std::string& path);

}  // namespace nudge
