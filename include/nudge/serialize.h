// ModelWriter / ModelReader: the little-endian byte encoding every model's state is saved
// in (Recommender::save_state / load_state). Knows nothing of model kinds or the file
// around it: that is model_file.h (the io module), which wraps these bytes with a header,
// the catalog and a checksum, and uses the registry to rebuild a model on load.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nudge/csr.h"
#include "nudge/status.h"

namespace nudge {

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
  // `offset`: where `bytes` start in `source`, so errors give offsets into the whole file.
  ModelReader(std::string_view bytes, std::string source, size_t offset = 0)
      : bytes_(bytes), source_(std::move(source)), offset_(offset) {}
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
  size_t offset_ = 0;
};

}  // namespace nudge
