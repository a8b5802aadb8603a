#include "nudge/search_space.h"

#include <fmt/format.h>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

#include "common/text.h"
#include "nudge/fusion.h"
#include "nudge/params.h"
#include "nudge/registry.h"

namespace nudge {
namespace {

struct DefaultSpace {
  std::vector<std::string> dimensions;
  std::string resource;
};

// Ranges that cover the optima usually reported for each model (the implicit, LightFM and
// RecBole tuning guides); iteration counts are grown by successive halving, not sampled.
const std::map<std::string, DefaultSpace, std::less<>>& default_spaces() {
  static const std::map<std::string, DefaultSpace, std::less<>> kSpaces = {
      {"popularity", {{"half_life_days=1..1000:log"}, ""}},
      {"itemknn", {{"neighbours=5..1000:log", "shrinkage=0.0..200", "similarity=cosine,jaccard,bm25,tfidf"}, ""}},
      {"userknn", {{"neighbours=10..1000:log", "shrinkage=0.0..200", "similarity=cosine,jaccard,bm25,tfidf"}, ""}},
      {"ials", {{"factors=16..256:log", "regularization=0.001..10:log", "alpha=0.1..100:log"}, "iterations"}},
      {"bpr", {{"factors=16..256:log", "learning_rate=0.001..0.2:log", "regularization=0.0001..0.1:log"}, "epochs"}},
      {"ease", {{"regularization=1..10000:log"}, ""}},
      {"svd", {{"factors=10..200:log", "learning_rate=0.001..0.05:log", "regularization=0.001..0.2:log"}, "epochs"}},
      {"svdpp", {{"factors=10..100:log", "learning_rate=0.001..0.05:log", "regularization=0.001..0.2:log"}, "epochs"}},
      {"gmf", {{"factors=8..64:log", "learning_rate=0.0001..0.01:log", "negatives=2..8"}, "epochs"}},
      {"mlp", {{"factors=8..64:log", "learning_rate=0.0001..0.01:log", "negatives=2..8"}, "epochs"}},
      {"neumf", {{"factors=8..64:log", "learning_rate=0.0001..0.01:log", "negatives=2..8"}, "epochs"}},
      {"twotower",
       {{"factors=16..128:log", "learning_rate=0.01..0.2:log", "regularization=0.000001..0.001:log",
         "id_dropout=0.0..0.5"},
        "epochs"}},
      {"transition", {{"window=1..50:log", "decay=0.1..1.0", "reach=1..5", "popularity_weight=0.0001..1:log"}, ""}},
      {"sasrec",
       {{"factors=32..128:log", "blocks=1..3", "learning_rate=0.0003..0.003:log", "dropout=0.0..0.5"}, "epochs"}},
      {"fusion", {{"method=weighted,learned", "normalise=zscore,minmax,rank"}, ""}},
  };
  return kSpaces;
}

bool is_integer_text(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '-')) return false;
  return true;
}

Result<SearchSpace> space_of(std::string_view model, const Params& fixed, std::string_view prefix) {
  const auto it = default_spaces().find(model);
  if (it == default_spaces().end()) return Status::invalid_argument(fmt::format("unknown model '{}'", model));
  SearchSpace space;
  space.resource = it->second.resource;
  for (const std::string& text : it->second.dimensions) {
    NUDGE_ASSIGN_OR_RETURN(Dimension d, parse_dimension(text));
    d.key = std::string(prefix) + d.key;
    if (!fixed.has(d.key)) space.dimensions.push_back(std::move(d));
  }
  return space;
}

}  // namespace

std::string Dimension::sample(Rng& rng) const {
  if (kind == Kind::kChoice) return choices[rng.uniform_index(static_cast<uint32_t>(choices.size()))];
  const double u = rng.uniform();
  double v = log ? std::exp(std::log(low) + u * (std::log(high) - std::log(low))) : low + u * (high - low);
  if (kind == Kind::kInteger) return fmt::format("{}", static_cast<int64_t>(std::llround(std::clamp(v, low, high))));
  v = std::clamp(parse_double(fmt::format("{:.3g}", v)).value_or(v), low, high);
  return fmt::format("{:.3g}", v);
}

std::string Dimension::range_text() const {
  if (kind == Kind::kChoice) {
    std::string out;
    for (const auto& c : choices) out += (out.empty() ? "" : ",") + c;
    return out;
  }
  return bound_text(low) + ".." + bound_text(high) + (log ? ":log" : "");
}

std::string Dimension::bound_text(double v) const {
  return kind == Kind::kInteger ? fmt::format("{}", static_cast<int64_t>(v)) : fmt::format("{}", v);
}

Result<Dimension> parse_dimension(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return Status::invalid_argument(fmt::format("search range '{}': {}", text, why));
  };
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) return bad("expected key=low..high[:log] or key=a,b,c");
  Dimension d;
  d.key = std::string(trim(text.substr(0, eq)));
  std::string_view range = trim(text.substr(eq + 1));
  if (range.empty()) return bad("no values after '='");
  const size_t dots = range.find("..");
  if (dots == std::string_view::npos) {
    d.kind = Dimension::Kind::kChoice;
    for (std::string_view part : split_view(range, ',')) {
      part = trim(part);
      if (part.empty()) return bad("an empty choice");
      d.choices.emplace_back(part);
    }
    return d;
  }
  if (range.ends_with(":log")) {
    d.log = true;
    range.remove_suffix(4);
  }
  const std::string_view lo = trim(range.substr(0, dots)), hi = trim(range.substr(dots + 2));
  const auto low = parse_double(lo), high = parse_double(hi);
  if (!low || !high || !std::isfinite(*low) || !std::isfinite(*high)) return bad("bounds must be numbers");
  d.low = *low;
  d.high = *high;
  if (d.low > d.high) return bad("low bound above high bound");
  if (d.log && d.low <= 0) return bad("a log range needs bounds above 0");
  d.kind = is_integer_text(lo) && is_integer_text(hi) ? Dimension::Kind::kInteger : Dimension::Kind::kReal;
  return d;
}

void SearchSpace::set(Dimension d) {
  for (Dimension& have : dimensions) {
    if (have.key == d.key) {
      have = std::move(d);
      return;
    }
  }
  dimensions.push_back(std::move(d));
}

Result<SearchSpace> default_search_space(std::string_view spec) {
  // The registry reads the spec, as `nudge train -m` does.
  NUDGE_ASSIGN_OR_RETURN(const auto base, make_recommender_from_spec(spec));
  const std::string model(base->name());
  const Params& fixed = base->params();
  NUDGE_ASSIGN_OR_RETURN(SearchSpace space, space_of(model, fixed, ""));
  if (model != "fusion") return space;
  NUDGE_ASSIGN_OR_RETURN(FusionOptions options, FusionOptions::from_params(fixed));
  for (const std::string& component : options.models) {
    NUDGE_ASSIGN_OR_RETURN(SearchSpace part, space_of(component, fixed, component + "."));
    for (Dimension& d : part.dimensions) space.dimensions.push_back(std::move(d));
  }
  return space;
}

Status override_dimension(SearchSpace* space, std::string_view model, std::string_view text) {
  NUDGE_ASSIGN_OR_RETURN(Dimension d, parse_dimension(text));
  const std::string prefix = std::string(model) + ".";
  if (d.key.starts_with(prefix)) d.key.erase(0, prefix.size());
  if (d.key.empty()) return Status::invalid_argument(fmt::format("search range '{}': no parameter named", text));
  space->set(std::move(d));
  return Status::ok();
}

}  // namespace nudge
