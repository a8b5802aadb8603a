// Ranked locks: the serving engine's lock order, checked at every acquisition.
//
// Every lock in the engine has a rank, and a thread may take a lock only while it holds no
// lock of the same or a higher rank. Two threads can then never wait for each other in a
// cycle. The ranks, lowest first:
//   kRetrain  one retrain at a time; held while training copies the tables below
//   kListener the retrainer's model listener, called with kRetrain held
//   kTable    the catalogue, the user table and the training log: one of them at a time
//   kUser     one user's state (history, folded vector, attributes)
//   kCache    a cache refreshed while its table is read (the trending ranking)
//   kSignal   the retrainer's wake-up queue
// A lock taken out of order aborts with both ranks named, in every build: the tests catch a
// wrong order on the path they run, not only when two threads happen to deadlock.
#pragma once

#include <cstdint>
#include <mutex>
#include <shared_mutex>

namespace nudge::serve {

enum class LockRank : uint8_t { kRetrain = 0, kListener = 1, kTable = 2, kUser = 3, kCache = 4, kSignal = 5 };

namespace lock_rank {
// Marks `rank` held by this thread; aborts when a lock of that rank or above is held.
void acquire(LockRank rank);
void release(LockRank rank);
// Whether this thread holds a lock of `rank` (for tests).
bool held(LockRank rank);
}  // namespace lock_rank

// A mutex with a rank: std::mutex or std::shared_mutex underneath, usable with the standard
// lock guards (lock_guard, unique_lock, shared_lock) and condition_variable_any.
template <class Mutex, LockRank kRank>
class Ranked {
 public:
  void lock() {
    lock_rank::acquire(kRank);
    mutex_.lock();
  }
  void unlock() {
    mutex_.unlock();
    lock_rank::release(kRank);
  }
  void lock_shared() requires requires(Mutex m) { m.lock_shared(); }
  {
    lock_rank::acquire(kRank);
    mutex_.lock_shared();
  }
  void unlock_shared() requires requires(Mutex m) { m.unlock_shared(); }
  {
    mutex_.unlock_shared();
    lock_rank::release(kRank);
  }

 private:
  Mutex mutex_;
};

template <LockRank kRank>
using RankedMutex = Ranked<std::mutex, kRank>;
template <LockRank kRank>
using RankedSharedMutex = Ranked<std::shared_mutex, kRank>;

}  // namespace nudge::serve
