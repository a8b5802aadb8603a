// Params: "key=value,key=value" model settings, parsed with errors that name the key.
//
// Every model reads its options struct from Params through the struct's ParamTable
// (param_table.h); keys it does not know are an error (a typo must not silently train a
// default model). Thread-safety: plain value.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "nudge/status.h"

namespace nudge {

template <typename Options>
class ParamTable;  // param_table.h: the declaration of an options struct's parameters

class Params {
 public:
  Params() = default;
  // "factors=64, alpha=2.0"; a key given twice is an error.
  static Result<Params> parse(std::string_view spec);

  bool has(std::string_view key) const { return values_.contains(std::string(key)); }
  void set(std::string key, std::string value) { values_[std::move(key)] = std::move(value); }

  // Typed reads of one key into `out` (left unchanged when absent). Errors name the owner
  // ("ials: parameter 'factors' must be an integer in [1, 4096], got 'abc'").
  Status read_int(std::string_view owner, std::string_view key, int64_t min, int64_t max, int64_t* out) const;
  Status read_double(std::string_view owner, std::string_view key, double min, double max, double* out) const;
  Status read_bool(std::string_view owner, std::string_view key, bool* out) const;
  Status read_string(std::string_view owner, std::string_view key, std::string* out) const;
  Status read_choice(std::string_view owner, std::string_view key, const std::set<std::string>& choices,
                     std::string* out) const;
  // Fails when a key is not in `known` (lists the known keys).
  Status check_known(std::string_view owner, const std::set<std::string>& known) const;

  // Canonical "a=1,b=2" (sorted keys): stored in model files.
  std::string to_string() const;

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace nudge
