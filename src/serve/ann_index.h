// AnnIndex: approximate maximum-inner-product search over item vectors with hnswlib (HNSW,
// Malkov & Yashunin 2018), for catalogues where scoring every item per request is too slow.
//
// Built once per model (in the background retrain) and read-only afterwards, so queries from
// many threads need no lock. Recall against exact scoring is measured in the tests and in
// bench/micro/bench_serve; `ef` trades it for speed.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "nudge/serve/options.h"
#include "nudge/top_k.h"

namespace nudge::serve {

class AnnIndex {
 public:
  // Indexes rows `rows` of a row-major matrix (num_rows x dim); labels are the row indices.
  AnnIndex(const float* vectors, uint32_t dim, std::span<const uint32_t> rows, const AnnOptions& options);
  ~AnnIndex();
  AnnIndex(const AnnIndex&) = delete;
  AnnIndex& operator=(const AnnIndex&) = delete;

  // The n rows with (approximately) the highest inner product with `query`, best first.
  void search(const float* query, size_t n, std::vector<ScoredItem>* out) const;
  size_t size() const { return size_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  size_t size_ = 0;
};

}  // namespace nudge::serve
