// Progress: a one-line progress display for long operations (loading, training).
//
// Draws to stderr only when stderr is a terminal and logging is not quiet, so logs, pipes
// and CI output stay clean. Thread-safety: advance() may be called from several threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace nudge {

class Progress {
 public:
  // total == 0 means unknown (shows a count instead of a percentage).
  Progress(std::string label, uint64_t total);
  ~Progress();  // finishes the line
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(uint64_t amount = 1);
  void set(uint64_t done);
  bool enabled() const { return enabled_; }

  // Globally turn drawing off (--quiet) or force it (tests). Default: on when stderr is a TTY.
  static void set_enabled(bool enabled);

 private:
  void maybe_draw();
  std::string label_;
  uint64_t total_;
  std::atomic<uint64_t> done_{0};
  std::atomic<int64_t> last_draw_ns_{0};
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace nudge
