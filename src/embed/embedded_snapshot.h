// EmbeddedSnapshot: a memory-mapped snapshot and the scoring the C API exposes. Internal to
// nudge_embed; dependency-free C++ (no Eigen, no exceptions thrown past open()).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nudge/nudge_c.h"
#include "nudge/snapshot_format.h"

namespace nudge::embed {

class EmbeddedSnapshot {
 public:
  // Maps and validates `path`; on failure returns a nudge_status and fills *error.
  static int open(const char* path, unsigned flags, std::unique_ptr<EmbeddedSnapshot>* out, std::string* error);
  ~EmbeddedSnapshot();
  EmbeddedSnapshot(const EmbeddedSnapshot&) = delete;
  EmbeddedSnapshot& operator=(const EmbeddedSnapshot&) = delete;

  uint32_t num_items() const { return header_->num_items; }
  uint32_t dim() const { return header_->dim; }
  bool is_int8() const { return (header_->flags & snapshot::kFlagInt8) != 0; }

  // A user vector ready for scoring: for int8 snapshots also quantised (per query).
  struct Query {
    const float* user = nullptr;
    std::vector<int8_t> quantised;
    float scale = 1.f;
  };
  Query prepare(const float* user) const;
  // Dot product of item i with a prepared query (int8 x int8 in integers for int8 rows).
  float score(uint32_t item, const Query& query) const;
  // Streaming top-k over all items (no per-item allocation); `exclude_sorted` ascending.
  void top_k(const float* user, const std::vector<uint32_t>& exclude_sorted, size_t k,
             std::vector<nudge_scored_item>* out) const;
  void top_popular(const std::vector<uint32_t>& exclude_sorted, size_t k, std::vector<nudge_scored_item>* out) const;
  void similar(uint32_t item, size_t k, std::vector<nudge_scored_item>* out) const;
  // Least-squares user vector for a history (iALS fold-in). Returns false on a singular system.
  bool fold_in(const uint32_t* items, const float* weights, size_t n, float* user) const;

  // ID of an item (a view into the mapping); empty when the offsets are damaged.
  std::string_view item_id(uint32_t item) const;
  // Binary search over the sorted-ID section.
  bool find_item(std::string_view id, uint32_t* item) const;

 private:
  EmbeddedSnapshot() = default;
  void dequantise(uint32_t item, float* out) const;
  const void* section(uint32_t kind) const;

  void* map_ = nullptr;
  size_t map_size_ = 0;
  const snapshot::Header* header_ = nullptr;
  const float* vectors_f32_ = nullptr;
  const int8_t* vectors_i8_ = nullptr;
  const float* scales_ = nullptr;
  const float* gram_ = nullptr;
  const float* popularity_ = nullptr;
  const float* norms_ = nullptr;
  const uint32_t* id_offsets_ = nullptr;
  const char* id_blob_ = nullptr;
  uint64_t id_blob_size_ = 0;
  const uint32_t* id_sorted_ = nullptr;
};

}  // namespace nudge::embed
