// Helpers shared by the tests: a temporary directory removed at scope exit, file I/O.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

namespace nudge::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "nudge-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// Central finite difference of f() with respect to *x (restored afterwards), in double:
// the oracle for every hand-written backward pass.
template <typename F>
double numeric_gradient(float* x, F&& f, double eps = 1e-3) {
  const float saved = *x;
  *x = static_cast<float>(saved + eps);
  const double up = f();
  *x = static_cast<float>(saved - eps);
  const double down = f();
  *x = saved;
  return (up - down) / (2 * eps);
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Polls `done` every 10 ms until it holds or `limit` passes; its last answer.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds limit = std::chrono::milliseconds(30000)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

}  // namespace nudge::testing

#define ASSERT_OK(expr)                                    \
  do {                                                     \
    const auto& nudge_s_ = (expr);                         \
    ASSERT_TRUE(nudge_s_.is_ok()) << nudge_s_.to_string(); \
  } while (0)
#define EXPECT_OK(expr)                                    \
  do {                                                     \
    const auto& nudge_s_ = (expr);                         \
    EXPECT_TRUE(nudge_s_.is_ok()) << nudge_s_.to_string(); \
  } while (0)
