// BorrowedArray<T>: the elements of a std::vector that it owns, or of a read-only array that
// somebody else owns (a NumPy array the Python package trains on without copying it).
//
// Const access reads either. Copies are deep and own their elements, so only the object made
// by `borrow` refers to the caller's memory, and the caller keeps that memory alive and
// unchanged for the object's life. Mutable access (non-const data, operator[], begin, vec)
// first copies borrowed elements into owned storage: the lender's array is never written.
// Thread-safety: as std::vector (concurrent const access is safe).
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <utility>
#include <vector>

namespace nudge {

template <typename T>
class BorrowedArray {
 public:
  BorrowedArray() = default;
  BorrowedArray(std::initializer_list<T> values) : owned_(values) {}
  explicit BorrowedArray(std::vector<T> values) : owned_(std::move(values)) {}
  BorrowedArray(const BorrowedArray& other) : owned_(other.begin(), other.end()) {}
  BorrowedArray(BorrowedArray&& other) noexcept
      : owned_(std::move(other.owned_)), borrowed_(std::exchange(other.borrowed_, {})) {}
  BorrowedArray& operator=(const BorrowedArray& other) {
    if (this != &other) *this = BorrowedArray(other);
    return *this;
  }
  BorrowedArray& operator=(BorrowedArray&& other) noexcept {
    owned_ = std::move(other.owned_);
    borrowed_ = std::exchange(other.borrowed_, {});
    return *this;
  }
  ~BorrowedArray() = default;

  // Refers to `lent` (not copied); see the lifetime rule above.
  static BorrowedArray borrow(std::span<const T> lent) {
    BorrowedArray a;
    a.borrowed_ = lent;
    return a;
  }
  bool is_borrowed() const { return borrowed_.data() != nullptr; }

  const T* data() const { return is_borrowed() ? borrowed_.data() : owned_.data(); }
  size_t size() const { return is_borrowed() ? borrowed_.size() : owned_.size(); }
  bool empty() const { return size() == 0; }
  const T& operator[](size_t i) const { return data()[i]; }
  const T& back() const { return data()[size() - 1]; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size(); }
  operator std::span<const T>() const { return {data(), size()}; }  // NOLINT(google-explicit-constructor)

  // Mutable access: owned storage (borrowed elements copied in first).
  std::vector<T>& vec() {
    if (is_borrowed()) {
      owned_.assign(borrowed_.begin(), borrowed_.end());
      borrowed_ = {};
    }
    return owned_;
  }
  T* data() { return vec().data(); }
  T& operator[](size_t i) { return vec()[i]; }
  T* begin() { return vec().data(); }
  T* end() { return vec().data() + owned_.size(); }
  void push_back(const T& value) { vec().push_back(value); }
  void resize(size_t n) { vec().resize(n); }
  void reserve(size_t n) { vec().reserve(n); }
  void assign(size_t n, const T& value) { vec().assign(n, value); }
  template <typename It>
  void insert_at_end(It first, It last) {
    vec().insert(owned_.end(), first, last);
  }
  void shrink_to_fit() { vec().shrink_to_fit(); }

  friend bool operator==(const BorrowedArray& a, const BorrowedArray& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
  friend bool operator==(const BorrowedArray& a, const std::vector<T>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  std::vector<T> owned_;
  std::span<const T> borrowed_;  // data() null: owned
};

}  // namespace nudge
