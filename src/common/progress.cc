#include "nudge/progress.h"

#include <unistd.h>

#include <cstdio>

namespace nudge {
namespace {

std::atomic<int> g_enabled{-1};  // -1: decide from isatty

bool drawing_enabled() {
  const int v = g_enabled.load();
  if (v >= 0) return v == 1;
  return isatty(STDERR_FILENO) == 1;
}

}  // namespace

void Progress::set_enabled(bool enabled) { g_enabled.store(enabled ? 1 : 0); }

Progress::Progress(std::string label, uint64_t total)
    : label_(std::move(label)), total_(total), enabled_(drawing_enabled()), start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() {
  if (!enabled_) return;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(stderr, "\r\033[K%s: %llu done in %.2fs\n", label_.c_str(),
               static_cast<unsigned long long>(done_.load()), secs);
}

void Progress::advance(uint64_t amount) {
  done_.fetch_add(amount, std::memory_order_relaxed);
  if (enabled_) maybe_draw();
}

void Progress::set(uint64_t done) {
  done_.store(done, std::memory_order_relaxed);
  if (enabled_) maybe_draw();
}

void Progress::maybe_draw() {
  const auto now = std::chrono::steady_clock::now();
  const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - start_).count();
  int64_t last = last_draw_ns_.load(std::memory_order_relaxed);
  // Redraw at most 10 times a second; one thread wins the slot.
  if (now_ns - last < 100'000'000 || !last_draw_ns_.compare_exchange_strong(last, now_ns)) return;
  const uint64_t done = done_.load(std::memory_order_relaxed);
  if (total_ > 0) {
    const double pct = 100.0 * static_cast<double>(done) / static_cast<double>(total_);
    std::fprintf(stderr, "\r\033[K%s: %5.1f%% (%llu/%llu)", label_.c_str(), pct, static_cast<unsigned long long>(done),
                 static_cast<unsigned long long>(total_));
  } else {
    std::fprintf(stderr, "\r\033[K%s: %llu", label_.c_str(), static_cast<unsigned long long>(done));
  }
  std::fflush(stderr);
}

}  // namespace nudge
