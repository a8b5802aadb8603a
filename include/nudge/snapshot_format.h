// The embedded snapshot file layout: owned by the embedded core (nudge_embed, which maps it)
// and public so the writer (io/snapshot_writer.cc) can produce it. Plain C++ with no
// dependencies: it must build for any target.
// docs/formats/snapshot.md describes it byte by byte.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nudge::snapshot {

inline constexpr char kMagic[8] = {'N', 'U', 'D', 'G', 'E', 'S', 'N', 'P'};
inline constexpr uint32_t kVersion = 1;
inline constexpr size_t kHeaderSize = 256;
inline constexpr size_t kAlignment = 64;  // every section starts on a cache line
inline constexpr uint32_t kFlagInt8 = 1;
inline constexpr uint32_t kModelIals = 1;

enum SectionKind : uint32_t {
  kVectors = 1,     // items x dim, float32 or int8 (kFlagInt8)
  kScales = 2,      // items float32: per-row scale of int8 vectors
  kGram = 3,        // dim x dim float32: Y^T Y of the float factors (fold-in)
  kPopularity = 4,  // items float32: training popularity (cold start)
  kNorms = 5,       // items float32: norm of each (dequantised) vector (similar items)
  kIdOffsets = 6,   // items + 1 uint32: item i's ID is blob[off[i], off[i+1])
  kIdBlob = 7,      // bytes
  kIdSorted = 8,    // items uint32: item indices ordered by ID (binary search)
};
inline constexpr uint32_t kMaxSections = 8;

struct Section {
  uint32_t kind;
  uint32_t reserved;
  uint64_t offset;
  uint64_t size;
};

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t header_crc;  // CRC-32 of the 256 header bytes with this field zero
  uint32_t flags;
  uint32_t num_items;
  uint32_t dim;
  uint32_t model_kind;
  float regularization;  // fold-in: lambda_u = regularization * (1 + n)^reg_exponent
  float alpha;           // fold-in: confidence = 1 + alpha * weight
  float reg_exponent;
  uint32_t reserved0;
  uint64_t file_size;
  uint32_t data_crc;  // CRC-32 of bytes [kHeaderSize, file_size)
  uint32_t num_sections;
  Section sections[kMaxSections];
};
static_assert(sizeof(Header) == kHeaderSize, "snapshot header must be 256 bytes");

// CRC-32 (IEEE 802.3 polynomial, as zlib), table-driven; `crc` chains calls (start with 0).
uint32_t crc32(const void* data, size_t size, uint32_t crc = 0);

}  // namespace nudge::snapshot
