// SearchSpace: the hyper-parameters `nudge tune` samples, per model, with defaults and overrides.
//
// A dimension is one parameter of a model spec and the values it may take:
//   factors=16..256:log    integers (both bounds written as integers), log-uniform
//   alpha=0.1..100:log     reals, log-uniform (bounds > 0)
//   id_dropout=0..0.5      reals, uniform ("0.0..100" makes an integer-looking range real)
//   similarity=cosine,bm25 one of the listed values, uniformly; a single value fixes it
// Every registered model has a default space (default_search_space): the parameters that
// matter most for it, over ranges that cover the usual optima. A model with an iteration
// count also names it as its `resource`, which successive halving (tune.h) grows across
// rungs. Fusion's space is its own (method, normalise) plus each component's, prefixed with
// the component ("ials.factors"), as fusion specs name component parameters.
//
// Thread-safety: plain values; sampling uses the caller's Rng.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "nudge/rng.h"
#include "nudge/status.h"

namespace nudge {

struct Dimension {
  enum class Kind { kInteger, kReal, kChoice };
  std::string key;  // a parameter of the tuned spec ("factors", or "ials.factors" in fusion)
  Kind kind = Kind::kReal;
  double low = 0;
  double high = 0;
  bool log = false;
  std::vector<std::string> choices;

  // A value as spec text: integers exact, reals to 3 significant digits.
  std::string sample(Rng& rng) const;
  // The range as parse_dimension reads it: "16..256:log", "cosine,bm25".
  std::string range_text() const;
  // A bound as spec text: "16" for integers, "0.001" for reals.
  std::string bound_text(double v) const;
};

// "key=range" as above. Errors name the text and what is wrong with it.
Result<Dimension> parse_dimension(std::string_view text);

struct SearchSpace {
  std::vector<Dimension> dimensions;
  // The parameter successive halving grows ("iterations", "epochs"); empty: none, every
  // trial trains fully.
  std::string resource;

  // Adds `d`, or replaces the dimension with the same key.
  void set(Dimension d);
};

// The default space of the model a spec names ("ials", "fusion:models=ials+bpr"). Parameters
// the spec fixes are left out: `-m ials:alpha=2` searches the rest with alpha at 2.
Result<SearchSpace> default_search_space(std::string_view spec);

// An override as `-s` gives it: "ials.factors=32..256:log" or "factors=32..256:log". A
// leading "<model>." of the tuned model is dropped; inside fusion "ials.factors" is a
// component parameter, so it stays.
Status override_dimension(SearchSpace* space, std::string_view model, std::string_view text);

}  // namespace nudge
