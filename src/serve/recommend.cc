// Engine::recommend and Engine::similar: candidate generation (exact, HNSW, trending), then
// the business rules of request.h.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <queue>
#include <unordered_map>

#include <fmt/format.h>

#include "nudge/fusion.h"
#include "serve/ann_index.h"
#include "serve/engine_state.h"

namespace nudge::serve {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

bool contains(const std::vector<uint32_t>& sorted, uint32_t x) {
  return std::binary_search(sorted.begin(), sorted.end(), x);
}

// Approximate search returns the nearest items whatever the rules say: ask for what the
// answer needs plus what the rules exclude plus a margin, and grow by kFetchGrowth (at most
// kFetchAttempts times) while the rules leave too few.
constexpr size_t kFetchMargin = 16;
constexpr size_t kFetchGrowth = 4;
constexpr int kFetchAttempts = 4;
// Re-ranking (diversity, MMR) picks k from a wider pool: kRerankPoolFactor x k, at least
// kRerankPoolMin.
constexpr size_t kRerankPoolFactor = 5;
constexpr size_t kRerankPoolMin = 50;
// Items with no events rank after every trending item (relative log scores are far above).
constexpr float kUntrendedScore = -1e6f;

bool matches_any(const std::vector<std::string>& wanted, std::string_view value) {
  return std::find(wanted.begin(), wanted.end(), value) != wanted.end();
}

struct Rules;
// One business rule of a request over a candidate item: false drops it. A request's chain
// holds only the rules it uses (a plain request: not hidden, not excluded), applied in order
// to every candidate the scoring paths consider.
using ItemRule = bool (*)(const Rules& rules, const ItemRecord& record, uint32_t item);

// Everything a request needs decided per item, resolved once under the catalogue lock.
struct Rules {
  const Catalogue& s;
  const Catalogue::ColdView& cold;            // the serving arm's view of items its model has no row for
  const RecommendRequest* request = nullptr;  // null for similar()
  std::vector<uint32_t> excluded;             // sorted: seen (when excluded), exclude list, pins
  std::vector<std::string> categories;
  bool has_filters = false;  // a category, tag or price filter: most of the catalogue fails
  std::vector<ItemRule> chain;

  // Builds the chain from the fields above; call again after changing them.
  void finish();
  bool eligible(uint32_t item) const {
    const ItemRecord& r = s.item_states[item].record;
    for (ItemRule rule : chain)
      if (!rule(*this, r, item)) return false;
    return true;
  }
  // The most boosts can add to one item (an upper bound: they may not all match one item).
  float max_boost() const {
    float total = 0.f;
    if (request)
      for (const Boost& b : request->boosts) total += std::max(b.weight, 0.f);
    return total;
  }
  // Calls fn(item) for every item below `n` that can pass the category or tag filter: the
  // items carrying a wanted category (or tag), or all of them when neither is asked for.
  template <typename Fn>
  void for_each_candidate(uint32_t n, Fn&& fn) const {
    const std::vector<std::string>* wanted = &categories;
    const auto* index = &s.items_by_category;
    if (wanted->empty() && request && !request->tags.empty()) {
      wanted = &request->tags;
      index = &s.items_by_tag;
    }
    if (wanted->empty()) {
      for (uint32_t i = 0; i < n; ++i) fn(i);
      return;
    }
    std::vector<uint32_t> subset;
    for (const auto& key : *wanted)
      if (auto it = index->find(key); it != index->end())
        subset.insert(subset.end(), it->second.begin(), it->second.end());
    if (wanted->size() > 1) {
      std::sort(subset.begin(), subset.end());
      subset.erase(std::unique(subset.begin(), subset.end()), subset.end());
    }
    for (uint32_t i : subset)
      if (i < n) fn(i);
  }
  float boost(uint32_t item, std::vector<std::string>* why = nullptr) const {
    if (!request) return 0.f;
    const ItemRecord& r = s.item_states[item].record;
    float total = 0.f;
    for (const Boost& b : request->boosts) {
      const bool hit = b.field == "category" ? r.category == b.value : matches_any(r.tags, b.value);
      if (!hit) continue;
      total += b.weight;
      if (why) why->push_back("boost " + b.field + "=" + b.value);
    }
    return total;
  }
};

bool not_hidden(const Rules&, const ItemRecord& r, uint32_t) { return !r.hidden; }
bool not_excluded(const Rules& rules, const ItemRecord&, uint32_t item) { return !contains(rules.excluded, item); }
bool in_categories(const Rules& rules, const ItemRecord& r, uint32_t) {
  return matches_any(rules.categories, r.category);
}
bool has_wanted_tag(const Rules& rules, const ItemRecord& r, uint32_t) {
  const auto& wanted = rules.request->tags;
  return std::any_of(r.tags.begin(), r.tags.end(), [&](const std::string& t) { return matches_any(wanted, t); });
}
bool priced_in_range(const Rules& rules, const ItemRecord& r, uint32_t) {
  const RecommendRequest& q = *rules.request;
  return !std::isnan(r.price) && (!q.price_min || r.price >= *q.price_min) && (!q.price_max || r.price <= *q.price_max);
}

void Rules::finish() {
  chain = {not_hidden};
  if (!excluded.empty()) chain.push_back(not_excluded);
  if (!categories.empty()) chain.push_back(in_categories);
  const bool tags = request && !request->tags.empty(), price = request && (request->price_min || request->price_max);
  if (tags) chain.push_back(has_wanted_tag);
  if (price) chain.push_back(priced_in_range);
  has_filters = !categories.empty() || tags || price;
}

// The vector an item is scored with: its factors, or its feature vector when cold.
const float* item_vector(const Catalogue::ColdView& cold, const ServingModel* m, uint32_t item) {
  if (m && m->has_vector(item)) return m->items().row(item).data();
  auto found = cold.find(item);
  return m && found != cold.end() && found->second.size() == m->factors() ? found->second.data() : nullptr;
}

float cosine(const float* a, const float* b, Eigen::Index dim) {
  Eigen::Map<const Eigen::VectorXf> va(a, dim), vb(b, dim);
  const float d = va.norm() * vb.norm();
  return d > 0 ? va.dot(vb) / d : 0.f;
}

// Personal candidates: the `pool` best eligible items for user vector x.
void personal_candidates(const Rules& rules, const ServingModel& m, const Eigen::VectorXf& x, size_t pool,
                         std::vector<ScoredItem>* out) {
  out->clear();
  bool done = false;
  if (m.ann() && !rules.has_filters) {
    // HNSW returns nearest items regardless of rules; fetch enough to survive the exclusions.
    size_t fetch = pool + rules.excluded.size() + kFetchMargin;
    std::vector<ScoredItem> found;
    for (int attempt = 0; attempt < kFetchAttempts && !done; ++attempt, fetch *= kFetchGrowth) {
      m.ann()->search(x.data(), fetch, &found);
      out->clear();
      for (const ScoredItem& c : found)
        if (rules.eligible(c.item)) out->push_back({c.item, c.score + rules.boost(c.item)});
      done = out->size() >= pool || found.size() >= m.ann()->size();
    }
  }
  if (!done && rules.has_filters) {
    // Filters usually keep a small part of the catalogue: score only that part.
    out->clear();
    rules.for_each_candidate(m.num_items(), [&](uint32_t i) {
      if (m.has_vector(i) && rules.eligible(i)) out->push_back({i, m.score(i, x) + rules.boost(i)});
    });
  } else if (!done) {
    thread_local std::vector<float> scores;
    scores.resize(m.num_items());
    Eigen::Map<Eigen::VectorXf>(scores.data(), static_cast<Eigen::Index>(scores.size())).noalias() = m.items() * x;
    for (uint32_t i = 0; i < m.num_items(); ++i) {
      if (!m.has_vector(i) || !rules.eligible(i)) scores[i] = kNaN;
      else if (!rules.request || !rules.request->boosts.empty()) scores[i] += rules.boost(i);
    }
    top_k(scores, pool, {}, out);
  }
  for (const auto& [i, v] : rules.cold) {
    if (v.size() != x.size() || !rules.eligible(i)) continue;  // sizes differ only across a swap
    out->push_back({i, v.dot(x) + rules.boost(i)});
  }
  keep_best(out, pool);
}

// The fused index (serving_model.h) asked for the fusion's best; false when there is none or
// the exclusions ate every answer it gave (the caller then scores everything).
bool fused_candidates(const Rules& rules, const ServingModel& m, const UserHistory& user, size_t pool,
                      std::vector<ScoredItem>* out) {
  thread_local std::vector<float> query;
  float offset = 0.f;
  if (!m.fused_query(user, &query, &offset)) return false;
  size_t fetch = pool + rules.excluded.size() + kFetchMargin;
  std::vector<ScoredItem> found;
  for (int attempt = 0; attempt < kFetchAttempts; ++attempt, fetch *= kFetchGrowth) {
    m.fused_ann()->search(query.data(), fetch, &found);
    out->clear();
    for (const ScoredItem& c : found)
      if (rules.eligible(c.item)) out->push_back({c.item, c.score + offset + rules.boost(c.item)});
    if (out->size() >= pool || found.size() >= m.fused_ann()->size()) {
      keep_best(out, pool);
      return true;
    }
  }
  return false;
}

// Personal candidates on the history path: the model scores the whole catalogue from the
// user's current history (and recent items and attributes), so the answer reflects the
// latest event without any cached state.
void history_candidates(const Rules& rules, const ServingModel& m, const UserHistory& user, size_t pool,
                        std::vector<ScoredItem>* out) {
  thread_local std::vector<float> scores, scratch, described_scores;
  thread_local std::vector<FeatureDescription> described;
  thread_local std::vector<uint32_t> described_items;
  const uint32_t n = m.num_items();
  scores.resize(n);
  // Items described since the model was built, scored by its feature view.
  described.clear();
  described_items.clear();
  if (m.describes_new_items())
    for (const auto& entry : rules.cold)  // on this path, the described items
      if (rules.eligible(entry.first)) {
        described.push_back(rules.s.item_states[entry.first].description);
        described_items.push_back(entry.first);
      }
  // A fusion with a fused index and nothing outside it to score: ask the index.
  if (described.empty() && !rules.has_filters && fused_candidates(rules, m, user, pool, out)) return;
  described_scores.resize(described.size());
  m.score_history_with(user, described, scores, &scratch, described_scores);
  const bool boosted = !rules.request || !rules.request->boosts.empty();
  if (!rules.has_filters) {
    // Only hidden and excluded items fail: mark those, without touching every item's record.
    for (uint32_t i : rules.s.hidden_items)
      if (i < n) scores[i] = kNaN;
    for (uint32_t i : rules.excluded)
      if (i < n) scores[i] = kNaN;
    if (boosted)
      for (uint32_t i = 0; i < n; ++i)
        if (!std::isnan(scores[i])) scores[i] += rules.boost(i);
  } else {
    for (uint32_t i = 0; i < n; ++i) {
      if (std::isnan(scores[i]) || !rules.eligible(i)) scores[i] = kNaN;
      else if (boosted) scores[i] += rules.boost(i);
    }
  }
  top_k(scores, pool, {}, out);
  if (described.empty()) return;
  for (size_t k = 0; k < described.size(); ++k)
    if (!std::isnan(described_scores[k]))
      out->push_back({described_items[k], described_scores[k] + rules.boost(described_items[k])});
  keep_best(out, pool);
}

// Walks the trending ranking from the top and stops once no later item, even with every boost,
// could beat the pool's worst: a few items for a plain request instead of the catalogue.
void trending_candidates(const Rules& rules, size_t pool, std::vector<ScoredItem>* out) {
  const Catalogue& s = rules.s;
  const auto ranking = s.trending_ranking();
  const float max_boost = rules.max_boost();
  out->clear();
  std::priority_queue<float, std::vector<float>, std::greater<float>> best;  // the pool's scores
  for (const ScoredItem& c : ranking->order) {
    if (best.size() >= pool && c.score + max_boost < best.top()) break;
    if (!rules.eligible(c.item)) continue;
    const float score = c.score + rules.boost(c.item);
    out->push_back({c.item, score});
    best.push(score);
    if (best.size() > pool) best.pop();
  }
  keep_best(out, pool);
  // Items never interacted with (new, described ones) come after every trending item.
  for (uint32_t i = 0; i < s.item_states.size() && out->size() < pool; ++i)
    if (std::isinf(s.item_states[i].log_trend) && rules.eligible(i))
      out->push_back({i, kUntrendedScore + rules.boost(i)});
}

// Greedy pick of k from the candidates, best first: at most max_per_category per category,
// and with mmr_lambda < 1 maximal marginal relevance (Carbonell & Goldstein 1998):
// argmax lambda * relevance - (1 - lambda) * max cosine to the items already picked.
std::vector<ScoredItem> diversify(const Rules& rules, const ServingModel* m, std::vector<ScoredItem> cands, size_t k,
                                  size_t max_per_category, float lambda) {
  std::vector<ScoredItem> picked;
  std::unordered_map<std::string_view, size_t> per_category;
  auto category_full = [&](uint32_t item) {
    if (max_per_category == 0) return false;
    auto it = per_category.find(rules.s.item_states[item].record.category);
    return it != per_category.end() && it->second >= max_per_category;
  };
  const bool mmr = lambda < 1.f && m && m->factor_model();
  float lo = 0, hi = 1;
  if (mmr && !cands.empty()) {
    hi = cands.front().score;
    lo = cands.back().score;
  }
  std::vector<float> max_sim(cands.size(), 0.f);
  std::vector<bool> used(cands.size(), false);
  while (picked.size() < k) {
    size_t best = cands.size();
    float best_value = -std::numeric_limits<float>::infinity();
    for (size_t c = 0; c < cands.size(); ++c) {
      if (used[c] || category_full(cands[c].item)) continue;
      if (!mmr) {
        best = c;  // candidates are sorted: the first allowed one
        break;
      }
      const float relevance = hi > lo ? (cands[c].score - lo) / (hi - lo) : 1.f;
      const float value = lambda * relevance - (1.f - lambda) * max_sim[c];
      if (value > best_value) {
        best_value = value;
        best = c;
      }
    }
    if (best == cands.size()) break;
    used[best] = true;
    picked.push_back(cands[best]);
    ++per_category[rules.s.item_states[cands[best].item].record.category];
    if (mmr) {
      const float* v = item_vector(rules.cold, m, cands[best].item);
      for (size_t c = 0; c < cands.size(); ++c) {
        const float* w = used[c] ? nullptr : item_vector(rules.cold, m, cands[c].item);
        if (v && w) max_sim[c] = std::max(max_sim[c], cosine(v, w, m->factors()));
      }
    }
  }
  return picked;
}

// "Because you engaged with ...": the two history items closest to the recommended one, by
// the served model's item vectors (the factor path's, else the model's own embeddings).
std::vector<std::string> closest_history(const Rules& rules, const ServingModel& m, uint32_t item,
                                         const std::vector<uint32_t>& history) {
  const Catalogue& s = rules.s;
  const float* v = nullptr;
  Eigen::Index dim = 0;
  auto vector_of = [&](uint32_t i) -> const float* {
    if (m.factor_model()) return m.trained(i) ? m.items().row(i).data() : nullptr;
    const auto e = m.recommender().item_embeddings();
    const uint32_t r = m.row_of(i);
    return e.data && r != kNoIndex ? e.data + static_cast<size_t>(r) * e.dim : nullptr;
  };
  if (m.factor_model()) {
    v = item_vector(rules.cold, &m, item);
    dim = m.factors();
  } else {
    v = vector_of(item);
    dim = m.recommender().item_embeddings().dim;
  }
  if (!v) return {};
  std::vector<ScoredItem> sims;
  for (uint32_t h : history) {
    const float* w = h != item && !s.item_states[h].record.hidden ? vector_of(h) : nullptr;
    if (w) sims.push_back({h, cosine(v, w, dim)});
  }
  sort_best_first(&sims);
  std::vector<std::string> out;
  for (size_t k = 0; k < sims.size() && k < 2; ++k) out.push_back(s.items.id_of(sims[k].item));
  return out;
}

// The user's attribute values the model learnt from, as "field=value".
std::vector<std::string> known_attributes(const Recommender& model, const FeatureDescription& attributes) {
  std::vector<std::string> out;
  FeatureDescription one;
  for (const auto& [field, value] : attributes.values) {
    one.values.assign(1, {field, value});
    if (model.knows_attributes(one)) out.push_back(field + "=" + value);
  }
  one.values.clear();
  for (const auto& [field, x] : attributes.numbers) {
    one.numbers.assign(1, {field, x});
    if (model.knows_attributes(one)) out.push_back(fmt::format("{}={}", field, x));
  }
  return out;
}

// Each fusion component's normalised score of the picked items (explain=true).
void explain_components(const ServingModel& m, const UserHistory& user, std::span<const ScoredItem> picked,
                        std::vector<Recommendation>* out) {
  const auto* fusion = dynamic_cast<const FusionModel*>(&m.recommender());
  if (!fusion) return;
  std::vector<std::vector<float>> parts;
  fusion->component_scores(m.to_rows(user), &parts);
  for (size_t c = 0; c < picked.size(); ++c) {
    const uint32_t r = m.row_of(picked[c].item);
    if (r == kNoIndex) continue;
    for (size_t p = 0; p < parts.size(); ++p)
      (*out)[c].components.emplace_back(fusion->options().models[p], parts[p][r]);
  }
}

Status check_k(size_t k) {
  if (k == 0 || k > kMaxK) return Status::invalid_field("k", "must be between 1 and " + std::to_string(kMaxK));
  return Status::ok();
}

// The user as the arm's model reads them. The factor path keeps the user's vector, folded in
// once per event (cached in the user's state); the history path scores from the history.
struct ServedUser {
  Eigen::VectorXf x;
  std::vector<uint32_t> history, recent;
  std::vector<float> weights;
  std::shared_ptr<const FeatureDescription> attributes;  // shared with the user's state, not copied
  UserHistory view() const { return {history, weights, recent, attributes.get()}; }
};

ServedUser served_user(UserState* state, const ServingModel* m, size_t arm) {
  ServedUser user;
  if (!state) return user;
  auto u = state->write();
  user.history = u->items;
  if (m && m->factor_model() && !u->items.empty()) {
    if (u->folded.size() <= arm) u->folded.resize(arm + 1);
    UserData::Folded& folded = u->folded[arm];
    if (folded.version != m->version()) {
      folded.vector = m->fold_in(u->items, u->weights);
      folded.version = m->version();
    }
    user.x = folded.vector;
  } else if (m) {
    user.weights = u->weights;
    user.recent = u->recent;
    if (m->recommender().has_feature_view()) user.attributes = u->description;
  }
  return user;
}

using Pins = std::vector<std::pair<uint32_t, const Pin*>>;

// The request's exclusions and filters into `rules`, and its pins (excluded from the ranking,
// placed after it; a hidden item is never pinned).
Status read_request_rules(const RecommendRequest& request, const std::vector<uint32_t>& history, Rules* rules,
                          Pins* pins) {
  const Catalogue& s = rules->s;
  rules->categories = request.categories;
  if (request.exclude_seen) rules->excluded = history;
  for (const auto& id : request.exclude)
    if (auto i = s.items.find(id)) rules->excluded.push_back(*i);  // unknown: nothing to exclude
  for (const Pin& p : request.pins) {
    auto i = s.items.find(p.item);
    if (!i) return Status::not_found("unknown item '" + p.item + "'").with_field("pin");
    if (s.item_states[*i].record.hidden) continue;  // hidden wins over pinned
    pins->emplace_back(*i, &p);
    rules->excluded.push_back(*i);
  }
  std::sort(rules->excluded.begin(), rules->excluded.end());
  rules->finish();
  return Status::ok();
}

// Why each picked item is there (reason and because), for explain=true.
struct Explainer {
  const Rules& rules;
  const ServingModel* m;
  const ServedUser& user;
  bool personal, factor_path;
  std::vector<std::string> drivers;  // a sequence model's most attended recent items

  Explainer(const Rules& r, const ServingModel* model, const ServedUser& u, bool is_personal, bool is_factor)
      : rules(r), m(model), user(u), personal(is_personal), factor_path(is_factor) {
    // The same for every item of the answer: the encoding of the sequence is one vector.
    if (!personal || factor_path) return;
    for (const ScoredItem& d : m->history_drivers(user.view()))
      if (drivers.size() < 2 && !rules.s.item_states[d.item].record.hidden)
        drivers.push_back(rules.s.items.id_of(d.item));
  }

  void explain(uint32_t item, Recommendation* r) const {
    const Catalogue& s = rules.s;
    if (!personal) {
      r->reason = "trending";
    } else if (!factor_path && item < s.item_states.size() && m->row_of(item) == kNoIndex) {
      r->reason = "features";
      for (const auto& [field, value] : s.item_states[item].description.values)
        r->because.push_back(field + "=" + value);
    } else if (!factor_path && user.history.empty()) {
      r->reason = "attributes";  // a user known only by attributes
      if (user.attributes) r->because = known_attributes(m->recommender(), *user.attributes);
    } else if (!drivers.empty()) {
      r->reason = "recent_items";
      r->because = drivers;
    } else if (m->trained(item) || !factor_path) {
      r->reason = "similar_items";
      r->because = closest_history(rules, *m, item, user.history);
    } else {
      r->reason = "features";
      m->feature_vector(s.item_states[item].record, &r->because);
    }
    rules.boost(item, &r->because);
  }
};

// Pins at their positions, in order of position (so later pins do not shift earlier ones).
void place_pins(Pins pins, bool explain, const Catalogue& s, std::vector<Recommendation>* items) {
  std::stable_sort(pins.begin(), pins.end(),
                   [](const auto& a, const auto& b) { return a.second->position < b.second->position; });
  for (const auto& [item, pin] : pins) {
    Recommendation r;
    r.item = s.items.id_of(item);
    r.pinned = true;
    if (explain) r.reason = "pinned";
    const size_t at = std::min(pin->position - 1, items->size());
    items->insert(items->begin() + static_cast<std::ptrdiff_t>(at), std::move(r));
  }
}

}  // namespace

Result<RecommendResponse> Engine::recommend(const RecommendRequest& request) const {
  NUDGE_RETURN_IF_ERROR(check_k(request.k));
  if (request.mmr_lambda < 0.f || request.mmr_lambda > 1.f || std::isnan(request.mmr_lambda))
    return Status::invalid_field("mmr", "must be between 0 and 1");
  const State& state = *state_;
  if (request.arm >= state.retrainer.num_arms())
    return Status::invalid_field("arm", "no arm " + std::to_string(request.arm) + " (" +
                                            std::to_string(state.retrainer.num_arms()) + " served)");
  const auto m = model(request.arm);
  RecommendResponse response;
  response.model_version = m ? m->version() : 0;
  const ServedUser user = served_user(state.users.find(request.user), m.get(), request.arm);
  const bool factor_path = m && m->factor_model();
  const bool personal = factor_path ? user.x.size() > 0 && user.x.squaredNorm() > 0.f : m && m->knows(user.view());
  response.source = personal ? "personal" : "trending";

  const auto catalogue = state.catalogue.read();
  const Catalogue& s = *catalogue;
  Rules rules{s, s.cold[request.arm], &request};
  Pins pins;
  NUDGE_RETURN_IF_ERROR(read_request_rules(request, user.history, &rules, &pins));

  const bool rerank = request.max_per_category > 0 || request.mmr_lambda < 1.f;
  const size_t pool = rerank ? std::max(request.k * kRerankPoolFactor, kRerankPoolMin) : request.k;
  std::vector<ScoredItem> cands;
  if (personal && factor_path) personal_candidates(rules, *m, user.x, pool, &cands);
  else if (personal) history_candidates(rules, *m, user.view(), pool, &cands);
  else trending_candidates(rules, pool, &cands);
  std::vector<ScoredItem> picked =
      rerank ? diversify(rules, m.get(), std::move(cands), request.k, request.max_per_category, request.mmr_lambda)
             : std::move(cands);
  if (picked.size() > request.k) picked.resize(request.k);

  std::optional<Explainer> explainer;
  if (request.explain) explainer.emplace(rules, m.get(), user, personal, factor_path);
  for (const ScoredItem& c : picked) {
    Recommendation r;
    r.item = s.items.id_of(c.item);
    r.score = c.score;
    if (explainer) explainer->explain(c.item, &r);
    response.items.push_back(std::move(r));
  }
  if (request.explain && personal && !factor_path) explain_components(*m, user.view(), picked, &response.items);
  place_pins(std::move(pins), request.explain, s, &response.items);
  if (response.items.size() > request.k) response.items.resize(request.k);
  return response;
}

namespace {

// Items like `item` by the model's own similarity (cosine of its item vectors, EASE weights,
// item neighbours), fetched generously so the rules leave k; false when the model has fewer.
bool model_similar(const ServingModel& m, uint32_t item, size_t k, const Rules& rules, std::vector<ScoredItem>* cands) {
  std::vector<ScoredItem> found;
  for (size_t fetch = k * kFetchGrowth + kFetchMargin;; fetch *= kFetchGrowth) {
    if (!m.similar(item, fetch, &found).is_ok()) return false;
    cands->clear();
    for (const ScoredItem& c : found)
      if (rules.eligible(c.item)) cands->push_back(c);
    if (cands->size() >= k || found.size() < fetch || fetch >= m.num_items()) break;
  }
  keep_best(cands, k);
  return true;
}

// Factor path: the items whose vectors are closest in cosine to `q`, through HNSW when the
// model has an index and no category filter applies, cold items (feature vectors) included.
void factor_similar(const ServingModel& m, const float* q, const Catalogue::ColdView& cold, size_t k,
                    const Rules& rules, std::vector<ScoredItem>* cands) {
  const Eigen::Index f = m.factors();
  if (m.ann() && rules.categories.empty()) {
    std::vector<ScoredItem> found;
    m.ann()->search(q, k * kFetchGrowth + kFetchMargin, &found);
    for (const ScoredItem& c : found)
      if (rules.eligible(c.item)) cands->push_back({c.item, cosine(q, m.items().row(c.item).data(), f)});
  } else {
    rules.for_each_candidate(m.num_items(), [&](uint32_t i) {
      if (m.has_vector(i) && rules.eligible(i)) cands->push_back({i, cosine(q, m.items().row(i).data(), f)});
    });
  }
  for (const auto& [i, v] : cold)
    if (v.size() == f && rules.eligible(i)) cands->push_back({i, cosine(q, v.data(), f)});
  keep_best(cands, k);
}

}  // namespace

Result<RecommendResponse> Engine::similar(const SimilarRequest& request) const {
  NUDGE_RETURN_IF_ERROR(check_k(request.k));
  const auto m = model();
  RecommendResponse response;
  response.model_version = m ? m->version() : 0;
  const auto catalogue = state_->catalogue.read();
  const Catalogue& s = *catalogue;
  auto found = s.items.find(request.item);
  if (!found) return Status::not_found("unknown item '" + request.item + "'").with_field("item");
  const uint32_t item = *found;
  Rules rules{s, s.cold[0], nullptr};
  rules.categories = request.categories;
  rules.excluded = {item};
  rules.finish();
  const float* q = m && m->factor_model() ? item_vector(s.cold[0], m.get(), item) : nullptr;
  std::vector<ScoredItem> cands;
  if (m && !m->factor_model() && model_similar(*m, item, request.k, rules, &cands)) {
    response.source = "similar";
  } else if (q) {
    response.source = "similar";
    factor_similar(*m, q, s.cold[0], request.k, rules, &cands);
  } else {
    // No vector yet (no events, no known features): trending items of the same category.
    response.source = "trending";
    if (rules.categories.empty() && !s.item_states[item].record.category.empty())
      rules.categories = {s.item_states[item].record.category}, rules.finish();
    trending_candidates(rules, request.k, &cands);
  }
  for (const ScoredItem& c : cands) {
    Recommendation r;
    r.item = s.items.id_of(c.item);
    r.score = c.score;
    if (request.explain) {
      r.reason = response.source == "trending" ? "trending" : "similar_items";
      if (r.reason == "similar_items") r.because = {request.item};
    }
    response.items.push_back(std::move(r));
  }
  return response;
}

}  // namespace nudge::serve
