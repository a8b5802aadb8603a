// ParamTable: the one declaration of an options struct's parameters.
//
// Each options struct (IalsOptions, BprOptions, ...) lists its parameters once: key, field,
// bounds or choices, and meaning. Everything else is generated from that list:
//   - parsing and checking of "key=value" specs (Params): unknown keys and values out of
//     range are errors naming the owner and the key;
//   - the keys `nudge serve` accepts in its TOML [model] section (read_value);
//   - `nudge params` and the model tables of docs/parameters.md (describe), which a test
//     keeps current.
// Defaults stay in the struct's member initialisers, where the header shows them.
//
//   const ParamTable<EaseOptions>& EaseOptions::parameters() {
//     using T = ParamTable<EaseOptions>;
//     static const T t({T::number("regularization", &EaseOptions::regularization, 0, 1e12, "λ")});
//     return t;
//   }
//   ... EaseOptions o; NUDGE_RETURN_IF_ERROR(parameters().read("ease", params, &o));
//
// Thread-safety: a table is immutable once built; read and describe are const.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "nudge/params.h"
#include "nudge/status.h"

namespace nudge {

// One parameter as documentation shows it.
struct ParamInfo {
  std::string key;
  std::string accepts;        // "integer in [1, 4096]", "cosine, tfidf", "true or false"
  std::string default_value;  // as text, from a default-constructed options struct
  std::string help;
};

// "0.01", "1e+09": the shortest text that reads back as the same double.
std::string param_number_text(double v);

template <typename Options>
class ParamTable {
 public:
  struct Entry {
    std::string key;
    std::string accepts;
    std::string help;
    std::function<Status(std::string_view owner, const Params&, Options*)> read;
    std::function<std::string(const Options&)> show;
  };

  explicit ParamTable(std::vector<Entry> entries) : entries_(std::move(entries)) {}

  static Entry integer(std::string key, int64_t Options::*field, int64_t min, int64_t max, std::string help) {
    const std::string k = key;
    std::string accepts = max == INT64_MAX ? "integer >= " + std::to_string(min)
                                           : "integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    return {std::move(key), std::move(accepts), std::move(help),
            [k, field, min, max](std::string_view owner, const Params& p, Options* o) {
              return p.read_int(owner, k, min, max, &(o->*field));
            },
            [field](const Options& o) { return std::to_string(o.*field); }};
  }
  static Entry number(std::string key, double Options::*field, double min, double max, std::string help) {
    const std::string k = key;
    return {std::move(key), "number in [" + param_number_text(min) + ", " + param_number_text(max) + "]",
            std::move(help),
            [k, field, min, max](std::string_view owner, const Params& p, Options* o) {
              return p.read_double(owner, k, min, max, &(o->*field));
            },
            [field](const Options& o) { return param_number_text(o.*field); }};
  }
  static Entry boolean(std::string key, bool Options::*field, std::string help) {
    const std::string k = key;
    return {
        std::move(key), "true or false", std::move(help),
        [k, field](std::string_view owner, const Params& p, Options* o) { return p.read_bool(owner, k, &(o->*field)); },
        [field](const Options& o) { return std::string(o.*field ? "true" : "false"); }};
  }
  static Entry text(std::string key, std::string Options::*field, std::string accepts, std::string help) {
    const std::string k = key;
    return {std::move(key), std::move(accepts), std::move(help),
            [k, field](std::string_view owner, const Params& p, Options* o) {
              return p.read_string(owner, k, &(o->*field));
            },
            [field](const Options& o) { return o.*field; }};
  }
  static Entry choice(std::string key, std::string Options::*field, std::set<std::string> choices, std::string help) {
    return choice_of<std::string>(std::move(key), field, {}, std::move(choices), std::move(help));
  }
  // A choice stored as a value of type V (an enum): `names` maps each choice to its value.
  template <typename V>
  static Entry choice_of(std::string key, V Options::*field, std::vector<std::pair<std::string, V>> names,
                         std::set<std::string> choices, std::string help) {
    if constexpr (!std::is_same_v<V, std::string>)
      for (const auto& [name, value] : names) choices.insert(name);
    std::string accepts;
    for (const auto& c : choices) accepts += (accepts.empty() ? "" : ", ") + c;
    const std::string k = key;
    return {std::move(key), std::move(accepts), std::move(help),
            [k, field, names, choices](std::string_view owner, const Params& p, Options* o) {
              std::string text;
              NUDGE_RETURN_IF_ERROR(p.read_choice(owner, k, choices, &text));
              if (text.empty()) return Status::ok();  // absent
              if constexpr (std::is_same_v<V, std::string>) {
                o->*field = text;
              } else {
                for (const auto& [name, value] : names)
                  if (name == text) o->*field = value;
              }
              return Status::ok();
            },
            [field, names](const Options& o) {
              if constexpr (std::is_same_v<V, std::string>) {
                return o.*field;
              } else {
                for (const auto& [name, value] : names)
                  if (value == o.*field) return name;
                return std::string("?");
              }
            }};
  }

  const std::vector<Entry>& entries() const { return entries_; }
  bool knows(std::string_view key) const {
    for (const Entry& e : entries_)
      if (e.key == key) return true;
    return false;
  }

  // Reads every key of `params` into `*out` (absent keys keep their value); errors name
  // `owner` (the model: "ials"). Keys in `also_known` are accepted and left to the caller.
  Status read(std::string_view owner, const Params& params, Options* out,
              const std::set<std::string>& also_known = {}) const {
    std::set<std::string> known = also_known;
    for (const Entry& e : entries_) known.insert(e.key);
    NUDGE_RETURN_IF_ERROR(params.check_known(owner, known));
    for (const Entry& e : entries_) NUDGE_RETURN_IF_ERROR(e.read(owner, params, out));
    return Status::ok();
  }
  // One key given as text (a TOML value, say), checked as `read` checks it; `owner` names the
  // place in errors ("nudge.toml:7: model").
  Status read_value(std::string_view owner, const std::string& key, const std::string& value, Options* out) const {
    for (const Entry& e : entries_) {
      if (e.key != key) continue;
      Params p;
      p.set(key, value);
      return e.read(owner, p, out);
    }
    return Status::invalid_argument(std::string(owner) + ": unknown parameter '" + key + "'");
  }

  std::vector<ParamInfo> describe(const Options& defaults) const {
    std::vector<ParamInfo> out;
    for (const Entry& e : entries_) out.push_back({e.key, e.accepts, e.show(defaults), e.help});
    return out;
  }

 private:
  std::vector<Entry> entries_;
};

}  // namespace nudge
