// Guarded<T, kRank>: data reachable only through a lock.
//
// The data lives inside, next to its ranked mutex; read() and write() return a guard that
// holds the lock (shared or exclusive) for as long as the guard lives and gives access to
// the data through ->. Code that has no guard cannot touch the data, and a guard taken out
// of the rank order aborts (lock_rank.h).
#pragma once

#include <mutex>
#include <shared_mutex>
#include <utility>

#include "serve/lock_rank.h"

namespace nudge::serve {

template <class T, LockRank kRank>
class Guarded {
 public:
  template <class... Args>
  explicit Guarded(Args&&... args) : data_(std::forward<Args>(args)...) {}

  class Reader {
   public:
    explicit Reader(const Guarded& g) : lock_(g.mutex_), data_(&g.data_) {}
    const T* operator->() const { return data_; }
    const T& operator*() const { return *data_; }

   private:
    std::shared_lock<RankedSharedMutex<kRank>> lock_;
    const T* data_;
  };
  class Writer {
   public:
    explicit Writer(Guarded& g) : lock_(g.mutex_), data_(&g.data_) {}
    T* operator->() const { return data_; }
    T& operator*() const { return *data_; }

   private:
    std::unique_lock<RankedSharedMutex<kRank>> lock_;
    T* data_;
  };

  Reader read() const { return Reader(*this); }
  Writer write() { return Writer(*this); }

 private:
  mutable RankedSharedMutex<kRank> mutex_;
  T data_;
};

}  // namespace nudge::serve
