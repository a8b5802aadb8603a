#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "common/atomic_file.h"
#include "nudge/snapshot.h"
#include "nudge/snapshot_format.h"

namespace nudge {

void quantise_rows(const float* data, size_t rows, size_t dim, std::vector<int8_t>* q, std::vector<float>* scales) {
  q->resize(rows * dim);
  scales->resize(rows);
  for (size_t r = 0; r < rows; ++r) {
    float max_abs = 0.f;
    for (size_t k = 0; k < dim; ++k) max_abs = std::max(max_abs, std::fabs(data[r * dim + k]));
    const float scale = max_abs > 0.f ? max_abs / 127.f : 1.f;
    (*scales)[r] = scale;
    for (size_t k = 0; k < dim; ++k) {
      const float v = std::round(data[r * dim + k] / scale);
      (*q)[r * dim + k] = static_cast<int8_t>(std::clamp(v, -127.f, 127.f));
    }
  }
}

namespace {

// Appends sections at aligned offsets and records them in the header.
class SnapshotBuilder {
 public:
  SnapshotBuilder() : bytes_(snapshot::kHeaderSize, '\0') { std::memset(&header_, 0, sizeof header_); }
  snapshot::Header& header() { return header_; }
  void add(uint32_t kind, const void* data, size_t size) {
    bytes_.resize((bytes_.size() + snapshot::kAlignment - 1) / snapshot::kAlignment * snapshot::kAlignment, '\0');
    header_.sections[header_.num_sections++] = {kind, 0, bytes_.size(), size};
    bytes_.append(static_cast<const char*>(data), size);
  }
  const std::string& finish() {
    std::memcpy(header_.magic, snapshot::kMagic, 8);
    header_.version = snapshot::kVersion;
    header_.file_size = bytes_.size();
    header_.data_crc = snapshot::crc32(bytes_.data() + snapshot::kHeaderSize, bytes_.size() - snapshot::kHeaderSize);
    header_.header_crc = 0;
    header_.header_crc = snapshot::crc32(&header_, sizeof header_);
    std::memcpy(bytes_.data(), &header_, sizeof header_);
    return bytes_;
  }

 private:
  snapshot::Header header_;
  std::string bytes_;
};

}  // namespace

Status write_snapshot(const IalsModel& model, const IdMap& items, std::span<const float> popularity,
                      const SnapshotOptions& options, const std::string& path) {
  const FactorMatrix& y = model.item_factors();
  const auto n = static_cast<size_t>(y.rows()), d = static_cast<size_t>(y.cols());
  NUDGE_CHECK(items.size() == n && popularity.size() == n, "write_snapshot: items/popularity do not match the model");
  if (n == 0) return Status::invalid_argument("snapshot: the model has no items");
  SnapshotBuilder b;
  auto& h = b.header();
  h.flags = options.int8 ? snapshot::kFlagInt8 : 0;
  h.num_items = static_cast<uint32_t>(n);
  h.dim = static_cast<uint32_t>(d);
  h.model_kind = snapshot::kModelIals;
  h.regularization = static_cast<float>(model.options().regularization);
  h.alpha = static_cast<float>(model.options().alpha);
  h.reg_exponent = static_cast<float>(model.options().reg_exponent);

  // The vectors as the device will see them: everything below is computed from these.
  std::vector<float> served(y.data(), y.data() + n * d);
  std::vector<int8_t> q;
  std::vector<float> scales;
  if (options.int8) {
    quantise_rows(y.data(), n, d, &q, &scales);
    for (size_t r = 0; r < n; ++r) {
      for (size_t k = 0; k < d; ++k) served[r * d + k] = static_cast<float>(q[r * d + k]) * scales[r];
    }
    b.add(snapshot::kVectors, q.data(), q.size());
    b.add(snapshot::kScales, scales.data(), scales.size() * 4);
  } else {
    b.add(snapshot::kVectors, served.data(), served.size() * 4);
  }
  std::vector<double> gram(d * d, 0.0);
  for (size_t r = 0; r < n; ++r) {
    const float* v = served.data() + r * d;
    for (size_t i = 0; i < d; ++i) {
      for (size_t j = 0; j <= i; ++j) gram[i * d + j] += static_cast<double>(v[i]) * v[j];
    }
  }
  std::vector<float> gram_f(d * d);
  for (size_t i = 0; i < d; ++i) {
    for (size_t j = 0; j <= i; ++j) gram_f[i * d + j] = gram_f[j * d + i] = static_cast<float>(gram[i * d + j]);
  }
  b.add(snapshot::kGram, gram_f.data(), gram_f.size() * 4);
  b.add(snapshot::kPopularity, popularity.data(), n * 4);
  std::vector<float> norms(n);
  for (size_t r = 0; r < n; ++r) {
    double s = 0;
    for (size_t k = 0; k < d; ++k) s += static_cast<double>(served[r * d + k]) * served[r * d + k];
    norms[r] = static_cast<float>(std::sqrt(s));
  }
  b.add(snapshot::kNorms, norms.data(), n * 4);
  std::vector<uint32_t> offsets(n + 1, 0);
  std::string blob;
  for (uint32_t i = 0; i < n; ++i) {
    blob += items.id_of(i);
    offsets[i + 1] = static_cast<uint32_t>(blob.size());
  }
  b.add(snapshot::kIdOffsets, offsets.data(), offsets.size() * 4);
  b.add(snapshot::kIdBlob, blob.data(), blob.size());
  std::vector<uint32_t> sorted(n);
  std::iota(sorted.begin(), sorted.end(), 0u);
  std::sort(sorted.begin(), sorted.end(), [&](uint32_t a, uint32_t c) { return items.id_of(a) < items.id_of(c); });
  b.add(snapshot::kIdSorted, sorted.data(), n * 4);
  return write_file_atomically(path, {b.finish()});
}

}  // namespace nudge
