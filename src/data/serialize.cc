#include "nudge/serialize.h"

#include <bit>
#include <cstring>

namespace nudge {

static_assert(std::endian::native == std::endian::little, "model state is little-endian");

void ModelWriter::str(std::string_view s) {
  u32(static_cast<uint32_t>(s.size()));
  raw(s.data(), s.size());
}
void ModelWriter::floats(std::span<const float> v) {
  u64(v.size());
  raw(v.data(), v.size_bytes());
}
void ModelWriter::u32s(std::span<const uint32_t> v) {
  u64(v.size());
  raw(v.data(), v.size_bytes());
}
void ModelWriter::u64s(std::span<const uint64_t> v) {
  u64(v.size());
  raw(v.data(), v.size_bytes());
}
void ModelWriter::csr(const CsrMatrix& m) {
  u32(m.num_rows);
  u32(m.num_cols);
  u64s(m.indptr);
  u32s(m.indices);
  floats(m.values);
}

Status ModelReader::corrupt(std::string_view what, std::string_view problem) const {
  return Status::corruption(source_ + ": " + std::string(what) + ": " + std::string(problem));
}

Status ModelReader::raw(void* p, size_t n, std::string_view what) {
  if (remaining() < n) {
    return corrupt(what, "truncated (needs " + std::to_string(n) + " bytes at offset " +
                             std::to_string(offset_ + pos_) + ", " + std::to_string(remaining()) + " left)");
  }
  std::memcpy(p, bytes_.data() + pos_, n);
  pos_ += n;
  return Status::ok();
}

Status ModelReader::str(std::string* s, std::string_view what) {
  uint32_t n = 0;
  NUDGE_RETURN_IF_ERROR(u32(&n, what));
  if (remaining() < n) return corrupt(what, "string of " + std::to_string(n) + " bytes runs past the end");
  s->assign(bytes_.data() + pos_, n);
  pos_ += n;
  return Status::ok();
}

template <typename T>
Status ModelReader::array(std::vector<T>* v, std::string_view what, size_t expected) {
  uint64_t n = 0;
  NUDGE_RETURN_IF_ERROR(u64(&n, what));
  if (expected != SIZE_MAX && n != expected) {
    return corrupt(what, "holds " + std::to_string(n) + " values, expected " + std::to_string(expected));
  }
  if (n > remaining() / sizeof(T)) return corrupt(what, std::to_string(n) + " values run past the end");
  v->resize(n);
  if (n > 0) std::memcpy(v->data(), bytes_.data() + pos_, n * sizeof(T));  // data() may be null when empty
  pos_ += n * sizeof(T);
  return Status::ok();
}

Status ModelReader::floats(std::vector<float>* v, std::string_view what, size_t expected) {
  return array(v, what, expected);
}
Status ModelReader::u32s(std::vector<uint32_t>* v, std::string_view what, size_t expected) {
  return array(v, what, expected);
}
Status ModelReader::u64s(std::vector<uint64_t>* v, std::string_view what, size_t expected) {
  return array(v, what, expected);
}

Status ModelReader::csr(CsrMatrix* m, std::string_view what) {
  NUDGE_RETURN_IF_ERROR(u32(&m->num_rows, what));
  NUDGE_RETURN_IF_ERROR(u32(&m->num_cols, what));
  NUDGE_RETURN_IF_ERROR(u64s(&m->indptr, what, size_t{m->num_rows} + 1));
  const uint64_t nnz = m->indptr.back();
  NUDGE_RETURN_IF_ERROR(u32s(&m->indices.vec(), what, nnz));
  NUDGE_RETURN_IF_ERROR(floats(&m->values.vec(), what, nnz));
  if (m->indptr[0] != 0) return corrupt(what, "row pointers do not start at 0");
  for (uint32_t r = 0; r < m->num_rows; ++r) {
    if (m->indptr[r] > m->indptr[r + 1]) return corrupt(what, "row pointers decrease at row " + std::to_string(r));
  }
  for (uint32_t c : m->indices) {
    if (c >= m->num_cols) return corrupt(what, "column index " + std::to_string(c) + " out of range");
  }
  return Status::ok();
}

}  // namespace nudge
