#include "nudge/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace nudge {

int hardware_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

int resolve_threads(int requested) { return requested <= 0 ? hardware_threads() : requested; }

void parallel_for(size_t n, int num_threads, const std::function<void(size_t, size_t, int)>& body, size_t min_chunk) {
  if (n == 0) return;
  const int threads = static_cast<int>(std::min<size_t>(resolve_threads(num_threads), (n + min_chunk - 1) / min_chunk));
  if (threads <= 1) {
    body(0, n, 0);
    return;
  }
  // ~8 chunks per thread balances skewed rows without much hand-out overhead.
  const size_t chunk = std::max(min_chunk, n / (static_cast<size_t>(threads) * 8) + 1);
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&](int tid) {
    try {
      for (;;) {
        const size_t begin = next.fetch_add(chunk);
        if (begin >= n) break;
        body(begin, std::min(n, begin + chunk), tid);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next.store(n);
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker, t);
  worker(0);
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace nudge
