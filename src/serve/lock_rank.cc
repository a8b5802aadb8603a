#include "serve/lock_rank.h"

#include <cstdio>
#include <cstdlib>
#include <iterator>

namespace nudge::serve::lock_rank {
namespace {

// Bit r set: this thread holds a lock of rank r. Ranks cannot nest with themselves, so one
// bit per rank is enough.
thread_local uint32_t held_ranks = 0;

const char* name(uint32_t rank) {
  static const char* const kNames[] = {"retrain", "listener", "table", "user", "cache", "signal"};
  return rank < std::size(kNames) ? kNames[rank] : "?";
}

}  // namespace

void acquire(LockRank rank) {
  const auto r = static_cast<uint32_t>(rank);
  if (const uint32_t above = held_ranks >> r; above != 0) {
    uint32_t highest = r;
    while ((held_ranks >> (highest + 1)) != 0) ++highest;
    std::fprintf(stderr, "nudge: lock order broken: taking a %s lock while holding a %s lock\n", name(r),
                 name(highest));
    std::abort();
  }
  held_ranks |= 1u << r;
}

void release(LockRank rank) { held_ranks &= ~(1u << static_cast<uint32_t>(rank)); }

bool held(LockRank rank) { return (held_ranks >> static_cast<uint32_t>(rank)) & 1u; }

}  // namespace nudge::serve::lock_rank
