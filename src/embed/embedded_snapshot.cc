#include "embedded_snapshot.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "nudge/top_k.h"

namespace nudge::embed {
namespace {

using snapshot::Header;
using snapshot::Section;

constexpr auto kBetter = ranks_before<nudge_scored_item>;  // as nudge::top_k ranks

// Keeps the k best seen so far in a heap whose top is the worst kept.
class TopK {
 public:
  TopK(size_t k, const std::vector<uint32_t>& exclude_sorted, std::vector<nudge_scored_item>* out)
      : k_(k), exclude_(exclude_sorted), heap_(*out) {
    heap_.clear();
    heap_.reserve(k);
  }
  void offer(uint32_t item, float score) {
    if (k_ == 0 || std::isnan(score)) return;
    const nudge_scored_item cand{item, score};
    if (heap_.size() == k_ && !kBetter(cand, heap_.front())) return;
    // Exclusions are checked only for candidates good enough to enter: rare after warm-up.
    if (std::binary_search(exclude_.begin(), exclude_.end(), item)) return;
    if (heap_.size() < k_) {
      heap_.push_back(cand);
      std::push_heap(heap_.begin(), heap_.end(), kBetter);
    } else {
      std::pop_heap(heap_.begin(), heap_.end(), kBetter);
      heap_.back() = cand;
      std::push_heap(heap_.begin(), heap_.end(), kBetter);
    }
  }
  void finish() { std::sort_heap(heap_.begin(), heap_.end(), kBetter); }

 private:
  size_t k_;
  const std::vector<uint32_t>& exclude_;
  std::vector<nudge_scored_item>& heap_;
};

// Expected byte size of each section, or 0 when the section is optional/variable.
uint64_t expected_size(uint32_t kind, const Header& h) {
  const uint64_t n = h.num_items, d = h.dim;
  const bool int8 = (h.flags & snapshot::kFlagInt8) != 0;
  switch (kind) {
    case snapshot::kVectors: return n * d * (int8 ? 1 : 4);
    case snapshot::kScales: return int8 ? n * 4 : 0;
    case snapshot::kGram: return d * d * 4;
    case snapshot::kPopularity:
    case snapshot::kNorms:
    case snapshot::kIdSorted: return n * 4;
    case snapshot::kIdOffsets: return (n + 1) * 4;
    default: return 0;
  }
}

}  // namespace

int EmbeddedSnapshot::open(const char* path, unsigned flags, std::unique_ptr<EmbeddedSnapshot>* out,
                           std::string* error) {
  const std::string name = path;
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = "cannot open '" + name + "': " + std::strerror(errno);
    return NUDGE_ERR_IO;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    *error = "cannot stat '" + name + "': " + std::strerror(errno);
    ::close(fd);
    return NUDGE_ERR_IO;
  }
  const auto size = static_cast<size_t>(st.st_size);
  if (size < snapshot::kHeaderSize) {
    ::close(fd);
    *error = name + ": not a Nudge snapshot (only " + std::to_string(size) + " bytes)";
    return NUDGE_ERR_CORRUPT;
  }
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) {
    *error = "cannot map '" + name + "': " + std::strerror(errno);
    return NUDGE_ERR_IO;
  }
  std::unique_ptr<EmbeddedSnapshot> s(new (std::nothrow) EmbeddedSnapshot());
  if (!s) {
    munmap(map, size);
    *error = "out of memory";
    return NUDGE_ERR_NO_MEMORY;
  }
  s->map_ = map;
  s->map_size_ = size;
  const auto* h = static_cast<const Header*>(map);
  s->header_ = h;
  auto fail = [&](int code, const std::string& what) {
    *error = name + ": " + what;
    return code;
  };
  if (std::memcmp(h->magic, snapshot::kMagic, 8) != 0)
    return fail(NUDGE_ERR_CORRUPT, "not a Nudge snapshot (bad magic)");
  if (h->version != snapshot::kVersion) {
    return fail(NUDGE_ERR_VERSION, "snapshot version " + std::to_string(h->version) + ", this build reads " +
                                       std::to_string(snapshot::kVersion) + " (re-export the model)");
  }
  Header copy;
  std::memcpy(&copy, h, sizeof copy);
  copy.header_crc = 0;
  if (snapshot::crc32(&copy, sizeof copy) != h->header_crc) return fail(NUDGE_ERR_CORRUPT, "header checksum mismatch");
  if (h->file_size != size) {
    return fail(NUDGE_ERR_CORRUPT, "file is " + std::to_string(size) + " bytes, header says " +
                                       std::to_string(h->file_size) + " (truncated or padded)");
  }
  if (h->dim == 0 || h->dim > 4096 || h->num_items == 0 || h->num_sections > snapshot::kMaxSections ||
      h->model_kind != snapshot::kModelIals) {
    return fail(NUDGE_ERR_CORRUPT, "implausible header (dim, item count, sections or model kind)");
  }
  for (uint32_t k = 0; k < h->num_sections; ++k) {
    const Section& sec = h->sections[k];
    if (sec.offset % snapshot::kAlignment != 0 || sec.offset < snapshot::kHeaderSize || sec.offset > size ||
        sec.size > size - sec.offset) {
      return fail(NUDGE_ERR_CORRUPT, "section " + std::to_string(sec.kind) + " lies outside the file");
    }
    const uint64_t want = expected_size(sec.kind, *h);
    if (want != 0 && sec.size != want) {
      return fail(NUDGE_ERR_CORRUPT, "section " + std::to_string(sec.kind) + " has " + std::to_string(sec.size) +
                                         " bytes, expected " + std::to_string(want));
    }
  }
  for (uint32_t kind : {snapshot::kVectors, snapshot::kGram, snapshot::kPopularity, snapshot::kNorms,
                        snapshot::kIdOffsets, snapshot::kIdBlob, snapshot::kIdSorted}) {
    if (!s->section(kind)) return fail(NUDGE_ERR_CORRUPT, "missing section " + std::to_string(kind));
  }
  if (s->is_int8() && !s->section(snapshot::kScales)) return fail(NUDGE_ERR_CORRUPT, "int8 snapshot without scales");
  if (flags & NUDGE_OPEN_VERIFY) {
    const auto* bytes = static_cast<const unsigned char*>(map);
    if (snapshot::crc32(bytes + snapshot::kHeaderSize, size - snapshot::kHeaderSize) != h->data_crc) {
      return fail(NUDGE_ERR_CORRUPT, "data checksum mismatch (the file is damaged)");
    }
  }
  if (s->is_int8()) {
    s->vectors_i8_ = static_cast<const int8_t*>(s->section(snapshot::kVectors));
    s->scales_ = static_cast<const float*>(s->section(snapshot::kScales));
  } else {
    s->vectors_f32_ = static_cast<const float*>(s->section(snapshot::kVectors));
  }
  s->gram_ = static_cast<const float*>(s->section(snapshot::kGram));
  s->popularity_ = static_cast<const float*>(s->section(snapshot::kPopularity));
  s->norms_ = static_cast<const float*>(s->section(snapshot::kNorms));
  s->id_offsets_ = static_cast<const uint32_t*>(s->section(snapshot::kIdOffsets));
  s->id_blob_ = static_cast<const char*>(s->section(snapshot::kIdBlob));
  for (uint32_t k = 0; k < h->num_sections; ++k) {
    if (h->sections[k].kind == snapshot::kIdBlob) s->id_blob_size_ = h->sections[k].size;
  }
  s->id_sorted_ = static_cast<const uint32_t*>(s->section(snapshot::kIdSorted));
  // Small devices: map only the pages a query touches. Without this, read-ahead and
  // fault-around bring in whole sections (IDs, norms, popularity) that top-k never reads,
  // and resident memory grows to the file size.
  madvise(map, size, MADV_RANDOM);
  // ...but start reading the scanned sections into the page cache now, so a cold first query
  // does not fault them in one page at a time.
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  for (uint32_t k = 0; k < h->num_sections; ++k) {
    const Section& sec = h->sections[k];
    if (sec.kind != snapshot::kVectors && sec.kind != snapshot::kScales) continue;
    const uintptr_t begin = reinterpret_cast<uintptr_t>(map) + sec.offset;
    const uintptr_t aligned = begin & ~(page - 1);
    madvise(reinterpret_cast<void*>(aligned), sec.size + (begin - aligned), MADV_WILLNEED);
  }
  *out = std::move(s);
  return NUDGE_OK;
}

EmbeddedSnapshot::~EmbeddedSnapshot() {
  if (map_) munmap(map_, map_size_);
}

const void* EmbeddedSnapshot::section(uint32_t kind) const {
  for (uint32_t k = 0; k < header_->num_sections; ++k) {
    if (header_->sections[k].kind == kind) return static_cast<const char*>(map_) + header_->sections[k].offset;
  }
  return nullptr;
}

namespace {

// Dot product in eight independent lanes, summed in a fixed order: the compiler can use
// SIMD without reassociating, and every platform computes the same bits (nudge_embed builds
// with -ffp-contract=off), which the aarch64 cross test relies on.
float dot8(const float* v, const float* u, size_t d) {
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t k = 0;
  for (; k + 8 <= d; k += 8) {
    for (size_t j = 0; j < 8; ++j) lane[j] += v[k + j] * u[k + j];
  }
  for (; k < d; ++k) lane[k % 8] += v[k] * u[k];
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

// int8 x int8 summed in int32: exact, so any vectorisation gives the same result.
int32_t dot_i8(const int8_t* a, const int8_t* b, size_t d) {
  int32_t acc = 0;
  for (size_t k = 0; k < d; ++k) acc += static_cast<int32_t>(a[k]) * static_cast<int32_t>(b[k]);
  return acc;
}

}  // namespace

EmbeddedSnapshot::Query EmbeddedSnapshot::prepare(const float* user) const {
  Query q;
  q.user = user;
  if (!vectors_i8_) return q;
  // The query is quantised like the rows (symmetric, max |u| -> 127), so scoring is an
  // integer dot product: about twice the speed of converting each int8 to float.
  // Non-finite components (a damaged snapshot's item vector, used by similar()) count as 0:
  // converting NaN to an integer is undefined behaviour.
  float max_abs = 0.f;
  for (size_t k = 0; k < dim(); ++k)
    if (std::isfinite(user[k])) max_abs = std::max(max_abs, std::fabs(user[k]));
  q.scale = max_abs > 0.f && std::isfinite(max_abs / 127.f) ? max_abs / 127.f : 1.f;
  q.quantised.resize(dim());
  for (size_t k = 0; k < dim(); ++k) {
    const float r = std::round(user[k] / q.scale);
    q.quantised[k] = std::isfinite(r) ? static_cast<int8_t>(std::clamp(r, -127.f, 127.f)) : int8_t{0};
  }
  return q;
}

float EmbeddedSnapshot::score(uint32_t item, const Query& q) const {
  if (!vectors_i8_) return dot8(vectors_f32_ + size_t{item} * dim(), q.user, dim());
  return static_cast<float>(dot_i8(vectors_i8_ + size_t{item} * dim(), q.quantised.data(), dim())) *
         (scales_[item] * q.scale);
}

void EmbeddedSnapshot::dequantise(uint32_t item, float* out) const {
  const size_t d = dim();
  if (vectors_i8_) {
    for (size_t k = 0; k < d; ++k) out[k] = static_cast<float>(vectors_i8_[size_t{item} * d + k]) * scales_[item];
  } else {
    std::memcpy(out, vectors_f32_ + size_t{item} * d, d * sizeof(float));
  }
}

void EmbeddedSnapshot::top_k(const float* user, const std::vector<uint32_t>& exclude_sorted, size_t k,
                             std::vector<nudge_scored_item>* out) const {
  TopK heap(k, exclude_sorted, out);
  const Query q = prepare(user);
  for (uint32_t i = 0; i < num_items(); ++i) heap.offer(i, score(i, q));
  heap.finish();
}

void EmbeddedSnapshot::top_popular(const std::vector<uint32_t>& exclude_sorted, size_t k,
                                   std::vector<nudge_scored_item>* out) const {
  TopK heap(k, exclude_sorted, out);
  for (uint32_t i = 0; i < num_items(); ++i) heap.offer(i, popularity_[i]);
  heap.finish();
}

void EmbeddedSnapshot::similar(uint32_t item, size_t k, std::vector<nudge_scored_item>* out) const {
  std::vector<float> v(dim());
  dequantise(item, v.data());
  const std::vector<uint32_t> self = {item};
  TopK heap(k, self, out);
  const float ni = norms_[item];
  const Query q = prepare(v.data());
  for (uint32_t j = 0; j < num_items(); ++j) {
    const float denom = ni * norms_[j];
    heap.offer(j, denom > 0.f ? score(j, q) / denom : 0.f);
  }
  heap.finish();
}

bool EmbeddedSnapshot::fold_in(const uint32_t* items, const float* weights, size_t n, float* user) const {
  const size_t d = dim();
  // A = G + lambda I + sum (c - 1) y y^T,  b = sum c y  (double for a stable factorisation).
  std::vector<double> a(d * d), b(d, 0.0);
  for (size_t k = 0; k < d * d; ++k) a[k] = gram_[k];
  const double lambda = header_->regularization * std::pow(1.0 + static_cast<double>(n), header_->reg_exponent);
  for (size_t k = 0; k < d; ++k) a[k * d + k] += lambda;
  std::vector<float> y(d);
  for (size_t e = 0; e < n; ++e) {
    dequantise(items[e], y.data());
    const double c = 1.0 + header_->alpha * weights[e];
    for (size_t r = 0; r < d; ++r) {
      b[r] += c * y[r];
      for (size_t col = 0; col <= r; ++col) a[r * d + col] += (c - 1.0) * y[r] * y[col];
    }
  }
  // Cholesky A = L L^T in the lower triangle, then two triangular solves.
  for (size_t j = 0; j < d; ++j) {
    double diag = a[j * d + j];
    for (size_t k = 0; k < j; ++k) diag -= a[j * d + k] * a[j * d + k];
    if (!(diag > 0.0)) return false;
    const double ljj = std::sqrt(diag);
    a[j * d + j] = ljj;
    for (size_t i = j + 1; i < d; ++i) {
      double v = a[i * d + j];
      for (size_t k = 0; k < j; ++k) v -= a[i * d + k] * a[j * d + k];
      a[i * d + j] = v / ljj;
    }
  }
  for (size_t i = 0; i < d; ++i) {
    double v = b[i];
    for (size_t k = 0; k < i; ++k) v -= a[i * d + k] * b[k];
    b[i] = v / a[i * d + i];
  }
  for (size_t i = d; i-- > 0;) {
    double v = b[i];
    for (size_t k = i + 1; k < d; ++k) v -= a[k * d + i] * b[k];
    b[i] = v / a[i * d + i];
  }
  for (size_t i = 0; i < d; ++i) user[i] = static_cast<float>(b[i]);
  return true;
}

std::string_view EmbeddedSnapshot::item_id(uint32_t item) const {
  const uint32_t lo = id_offsets_[item], hi = id_offsets_[item + 1];
  if (lo > hi || hi > id_blob_size_) return {};
  return {id_blob_ + lo, hi - lo};
}

bool EmbeddedSnapshot::find_item(std::string_view id, uint32_t* item) const {
  size_t lo = 0, hi = num_items();
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    const uint32_t cand = id_sorted_[mid];
    if (cand >= num_items()) return false;  // damaged section
    const std::string_view s = item_id(cand);
    if (s == id) {
      *item = cand;
      return true;
    }
    if (s < id) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

}  // namespace nudge::embed
