// parallel_for: split an index range over worker threads.
//
// Work is split into contiguous chunks handed out dynamically, so uneven rows (long user
// histories) balance out. With num_threads == 1 the body runs inline, in order, which is what
// makes seeded training deterministic. Exceptions thrown by the body are rethrown in the caller.
#pragma once

#include <cstddef>
#include <functional>

namespace nudge {

// Number of hardware threads (at least 1).
int hardware_threads();
// 0 means "all hardware threads".
int resolve_threads(int requested);

// Calls body(begin, end, thread_index) over disjoint chunks covering [0, n).
void parallel_for(size_t n, int num_threads, const std::function<void(size_t, size_t, int)>& body,
                  size_t min_chunk = 256);

}  // namespace nudge
