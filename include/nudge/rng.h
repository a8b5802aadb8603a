// Rng: the one random generator used everywhere, so a seed fixes every result.
//
// SplitMix64-seeded xoshiro256**: fast, small state, good statistical quality, and identical
// output on every platform (std::uniform_*_distribution is not portable across libraries).
// Thread-safety: none; give each thread its own Rng (see Rng::fork).
#pragma once

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace nudge {

class Rng {
 public:
  explicit Rng(uint64_t seed);

  uint64_t next_u64();
  // Uniform in [0, n); n > 0. Uses Lemire's multiply-shift (bias < 2^-32 for n < 2^32).
  uint32_t uniform_index(uint32_t n) {
    return static_cast<uint32_t>(((next_u64() >> 32) * n) >> 32);  // both factors < 2^32
  }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  double normal();  // standard normal (Box-Muller)
  double exponential(double rate) { return -std::log1p(-uniform()) / rate; }
  double gamma(double shape);  // Marsaglia-Tsang, shape > 0
  // Fisher-Yates shuffle, the same permutation on every platform for a seed.
  template <typename T>
  void shuffle(std::vector<T>& v) {
    for (size_t k = v.size(); k > 1; --k) std::swap(v[k - 1], v[uniform_index(static_cast<uint32_t>(k))]);
  }
  // An independent stream derived from this one (for per-thread generators).
  Rng fork(uint64_t stream_id);

 private:
  uint64_t s_[4];
  double spare_normal_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace nudge
