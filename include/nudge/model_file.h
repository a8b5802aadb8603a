// Model files: a versioned, checksummed binary holding a fitted model with its catalog.
//
// Layout (little-endian; docs/formats/model-file.md has it byte by byte):
//   0  "NUDGEMDL"            magic, 8 bytes
//   8  u32 format version    (kModelFormatVersion)
//   12 u32 CRC-32 (zlib) of the payload
//   16 u64 payload length in bytes
//   24 payload: model name, params, user IDs, item IDs, the training history (CSR), then
//      the model's own state (Recommender::save_state).
// A file that is truncated, has a bad magic/version/checksum or inconsistent sizes is
// rejected with a Status naming the file and what was wrong; nothing is half-loaded.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nudge/csr.h"
#include "nudge/id_map.h"
#include "nudge/recommender.h"
#include "nudge/serialize.h"
#include "nudge/status.h"

namespace nudge {

inline constexpr uint32_t kModelFormatVersion = 1;

// A fitted model with what it needs to answer by external ID.
struct LoadedModel {
  std::unique_ptr<Recommender> model;
  IdMap users;
  IdMap items;
  CsrMatrix history;  // training user -> items, for excluding seen items
};

// Writes atomically (path.tmp, then rename).
Status save_model(const Recommender& model, const IdMap& users, const IdMap& items, const CsrMatrix& history,
                  const std::string& path);
Result<LoadedModel> load_model(const std::string& path);
// From bytes in memory; `source` names them in errors.
Result<LoadedModel> load_model_bytes(std::string_view bytes, const std::string& source);

}  // namespace nudge
