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
#include "nudge/status.h"

namespace nudge {

inline constexpr uint32_t kModelFormatVersion = 1;

// Appends little-endian values to a byte buffer.
class ModelWriter {
 public:
  void u8(uint8_t v) { raw(&v, 1); }
  void u32(uint32_t v) { raw(&v, 4); }
  void u64(uint64_t v) { raw(&v, 8); }
  void f32(float v) { raw(&v, 4); }
  void f64(double v) { raw(&v, 8); }
  void str(std::string_view s);
  // Arrays are written as u64 count + elements.
  void floats(std::span<const float> v);
  void u32s(std::span<const uint32_t> v);
  void u64s(std::span<const uint64_t> v);
  void csr(const CsrMatrix& m);
  const std::string& bytes() const { return bytes_; }

 private:
  void raw(const void* p, size_t n) { bytes_.append(static_cast<const char*>(p), n); }
  std::string bytes_;
};

// Reads what ModelWriter wrote, checking every length against what is left. Each read names
// what it reads ("item factors") so a truncated file says where it broke.
class ModelReader {
 public:
  ModelReader(std::string_view bytes, std::string source) : bytes_(bytes), source_(std::move(source)) {}
  Status u8(uint8_t* v, std::string_view what) { return raw(v, 1, what); }
  Status u32(uint32_t* v, std::string_view what) { return raw(v, 4, what); }
  Status u64(uint64_t* v, std::string_view what) { return raw(v, 8, what); }
  Status f32(float* v, std::string_view what) { return raw(v, 4, what); }
  Status f64(double* v, std::string_view what) { return raw(v, 8, what); }
  Status str(std::string* s, std::string_view what);
  // `expected` (when not SIZE_MAX) must equal the stored count.
  Status floats(std::vector<float>* v, std::string_view what, size_t expected = SIZE_MAX);
  Status u32s(std::vector<uint32_t>* v, std::string_view what, size_t expected = SIZE_MAX);
  Status u64s(std::vector<uint64_t>* v, std::string_view what, size_t expected = SIZE_MAX);
  // Also validates the structure (monotone indptr, indices in range).
  Status csr(CsrMatrix* m, std::string_view what);
  size_t remaining() const { return bytes_.size() - pos_; }
  // A corruption Status "<source>: <what>: <problem>".
  Status corrupt(std::string_view what, std::string_view problem) const;

 private:
  Status raw(void* p, size_t n, std::string_view what);
  template <typename T>
  Status array(std::vector<T>* v, std::string_view what, size_t expected);
  std::string_view bytes_;
  size_t pos_ = 0;
  std::string source_;
};

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
