#include "serve/ann_index.h"

#include <hnswlib/hnswlib.h>

#include <algorithm>

#include "nudge/parallel.h"

namespace nudge::serve {

struct AnnIndex::Impl {
  explicit Impl(uint32_t dim, size_t n, const AnnOptions& o)
      : space(dim),
        index(&space, std::max<size_t>(n, 1), static_cast<size_t>(o.m), static_cast<size_t>(o.ef_construction)) {
    index.setEf(static_cast<size_t>(o.ef_search));
  }
  hnswlib::InnerProductSpace space;
  hnswlib::HierarchicalNSW<float> index;
};

AnnIndex::AnnIndex(const float* vectors, uint32_t dim, std::span<const uint32_t> rows, const AnnOptions& options)
    : impl_(std::make_unique<Impl>(dim, rows.size(), options)), size_(rows.size()) {
  if (rows.empty()) return;
  // hnswlib's addPoint is safe from several threads; the first point goes in alone so the
  // graph has an entry point before the others race for it.
  impl_->index.addPoint(vectors + static_cast<size_t>(rows[0]) * dim, rows[0]);
  parallel_for(
      rows.size() - 1, resolve_threads(options.threads),
      [&](size_t begin, size_t end, int) {
        for (size_t k = begin + 1; k < end + 1; ++k)
          impl_->index.addPoint(vectors + static_cast<size_t>(rows[k]) * dim, rows[k]);
      },
      512);
}

AnnIndex::~AnnIndex() = default;

void AnnIndex::search(const float* query, size_t n, std::vector<ScoredItem>* out) const {
  out->clear();
  if (size_ == 0 || n == 0) return;
  auto heap = impl_->index.searchKnn(query, std::min(n, size_));
  out->resize(heap.size());
  // The heap pops the farthest first; distance is 1 - inner product.
  for (size_t k = heap.size(); k-- > 0;) {
    out->at(k) = ScoredItem{static_cast<uint32_t>(heap.top().second), 1.f - heap.top().first};
    heap.pop();
  }
}

}  // namespace nudge::serve
