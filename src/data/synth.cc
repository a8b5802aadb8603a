#include "nudge/synth.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "nudge/progress.h"
#include "nudge/rng.h"

namespace nudge {
namespace {

// Events further apart than this start a new session (a new session topic).
constexpr int64_t kSessionGapSeconds = 1800;
// Mean seconds between events of one session.
constexpr double kSecondsBetweenSessionEvents = 90.0;
// Unique pairs: redraws from the user's tastes before falling back to global popularity,
// then popularity draws before a uniform pick.
constexpr int kTasteRedraws = 30;
// Draws among the previous item's successors before an event that should follow it falls
// back to the taste (with unique pairs the user may have taken them all).
constexpr int kSuccessorTries = 8;
constexpr int kPopularityRedraws = 1000;
// Ratings: 3.4 + user bias + item bias + kAffinityWeight x tanh(log affinity) + noise.
constexpr double kRatingBase = 3.4, kAffinityWeight = 0.9, kRatingNoise = 0.6;

// Walker's alias method: O(1) draws from a fixed discrete distribution.
class AliasTable {
 public:
  AliasTable() = default;
  explicit AliasTable(const std::vector<double>& weights) {
    const size_t n = weights.size();
    prob_.resize(n);
    alias_.resize(n);
    const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
    std::vector<double> scaled(n);
    std::vector<uint32_t> small, large;
    for (size_t i = 0; i < n; ++i) {
      scaled[i] = weights[i] * static_cast<double>(n) / total;
      (scaled[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
    }
    while (!small.empty() && !large.empty()) {
      const uint32_t s = small.back(), l = large.back();
      small.pop_back();
      prob_[s] = scaled[s];
      alias_[s] = l;
      scaled[l] -= 1.0 - scaled[s];
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    for (uint32_t i : large) prob_[i] = 1.0, alias_[i] = i;
    for (uint32_t i : small) prob_[i] = 1.0, alias_[i] = i;
  }
  uint32_t draw(Rng& rng) const {
    const uint32_t k = rng.uniform_index(static_cast<uint32_t>(prob_.size()));
    return rng.uniform() < prob_[k] ? k : alias_[k];
  }
  bool empty() const { return prob_.empty(); }

 private:
  std::vector<double> prob_;
  std::vector<uint32_t> alias_;
};

std::vector<float> dirichlet(Rng& rng, uint32_t k, double alpha) {
  std::vector<float> out(k);
  double sum = 0;
  for (auto& v : out) {
    v = static_cast<float>(rng.gamma(alpha));
    sum += v;
  }
  if (sum <= 0) {  // all draws underflowed: put the mass on one topic
    out[rng.uniform_index(k)] = 1.f;
    return out;
  }
  for (auto& v : out) v = static_cast<float>(v / sum);
  return out;
}

uint32_t draw_from(const float* p, uint32_t k, Rng& rng) {
  double u = rng.uniform(), acc = 0;
  for (uint32_t t = 0; t < k; ++t) {
    acc += p[t];
    if (u < acc) return t;
  }
  return k - 1;
}

Status validate(const SynthOptions& o) {
  if (o.num_users == 0 || o.num_items == 0 || o.num_topics == 0) {
    return Status::invalid_argument("synth: users, items and topics must be > 0");
  }
  if (o.num_topics > o.num_items) return Status::invalid_argument("synth: more topics than items");
  if (o.num_interactions < static_cast<uint64_t>(o.num_users) * o.min_user_interactions) {
    return Status::invalid_argument("synth: " + std::to_string(o.num_interactions) + " interactions cannot give " +
                                    std::to_string(o.num_users) + " users " + std::to_string(o.min_user_interactions) +
                                    " each");
  }
  if (o.unique_pairs &&
      static_cast<double>(o.num_interactions) > 0.5 * o.num_users * static_cast<double>(o.num_items)) {
    return Status::invalid_argument("synth: with unique pairs, interactions must be at most half of users x items");
  }
  if (o.unique_pairs && o.min_user_interactions > o.num_items / 2) {
    return Status::invalid_argument("synth: min_user_interactions exceeds half the catalogue");
  }
  for (double f : {o.noise, o.drift, o.tag_noise, o.session_stickiness, o.feature_noise, o.sequential}) {
    if (!(f >= 0.0 && f <= 1.0))
      return Status::invalid_argument("synth: noise, drift, tag_noise, stickiness and sequential must be in [0, 1]");
  }
  if (!(o.user_focus > 0) || !(o.popularity_exponent >= 0) || !(o.mean_session_events >= 1) || o.span_seconds <= 0) {
    return Status::invalid_argument(
        "synth: user_focus > 0, popularity_exponent >= 0, mean_session_events >= 1, span > 0");
  }
  return Status::ok();
}

// Events per user: heavy-tailed (log-normal) around the mean, at least the minimum, capped at
// half the catalogue with unique pairs, summing exactly to the total.
std::vector<uint32_t> user_activity(const SynthOptions& o, Rng& rng) {
  const uint32_t cap = o.unique_pairs ? o.num_items / 2 : UINT32_MAX;
  std::vector<double> w(o.num_users);
  for (auto& x : w) x = std::exp(1.1 * rng.normal());
  const double total_w = std::accumulate(w.begin(), w.end(), 0.0);
  const double spare =
      static_cast<double>(o.num_interactions - static_cast<uint64_t>(o.num_users) * o.min_user_interactions);
  std::vector<uint32_t> n(o.num_users);
  uint64_t assigned = 0;
  for (uint32_t u = 0; u < o.num_users; ++u) {
    const double want = o.min_user_interactions + spare * w[u] / total_w;
    n[u] = static_cast<uint32_t>(std::min<double>(cap, std::floor(want)));
    assigned += n[u];
  }
  // Hand out what rounding and capping left, one event at a time to random users below the cap.
  while (assigned < o.num_interactions) {
    const uint32_t u = rng.uniform_index(o.num_users);
    if (n[u] < cap) {
      ++n[u];
      ++assigned;
    }
  }
  return n;
}

}  // namespace

Result<SynthData> synthesize(const SynthOptions& o) {
  NUDGE_RETURN_IF_ERROR(validate(o));
  Rng rng(o.seed);
  const uint32_t num_topics = o.num_topics;
  SynthTruth truth;
  truth.num_topics = num_topics;

  // Items: topic, popularity (Zipf over a random rank order), features.
  truth.item_topic.resize(o.num_items);
  for (uint32_t i = 0; i < o.num_items; ++i)
    truth.item_topic[i] = i < num_topics ? i : rng.uniform_index(num_topics);  // no empty topic
  std::vector<uint32_t> rank(o.num_items);
  std::iota(rank.begin(), rank.end(), 0u);
  rng.shuffle(rank);
  truth.item_popularity.resize(o.num_items);
  for (uint32_t i = 0; i < o.num_items; ++i) {
    truth.item_popularity[i] = static_cast<float>(std::pow(rank[i] + 1.0, -o.popularity_exponent));
  }
  std::vector<std::vector<uint32_t>> topic_items(num_topics);
  for (uint32_t i = 0; i < o.num_items; ++i) topic_items[truth.item_topic[i]].push_back(i);
  std::vector<AliasTable> topic_tables(num_topics);
  for (uint32_t t = 0; t < num_topics; ++t) {
    std::vector<double> w;
    for (uint32_t i : topic_items[t]) w.push_back(truth.item_popularity[i]);
    topic_tables[t] = AliasTable(w);
  }
  const AliasTable global_table(std::vector<double>(truth.item_popularity.begin(), truth.item_popularity.end()));

  DatasetBuilder builder;
  Catalog& cat = builder.catalog();
  for (uint32_t i = 0; i < o.num_items; ++i) cat.items.intern("i" + std::to_string(i + 1));
  for (uint32_t u = 0; u < o.num_users; ++u) cat.users.intern("u" + std::to_string(u + 1));
  FeatureTable& items = cat.item_features;
  const uint32_t f_category = *items.add_field("category", FeatureKind::kCategorical);
  const uint32_t f_tags = *items.add_field("tags", FeatureKind::kMultiCategorical);
  const uint32_t f_price = *items.add_field("price", FeatureKind::kNumeric);
  const uint32_t tags_per_topic = std::max(1u, o.num_tags / num_topics);
  auto two_digits = [](uint32_t v) { return (v < 10 ? "0" : "") + std::to_string(v); };
  for (uint32_t i = 0; i < o.num_items; ++i) {
    // Drawn only when asked for, so datasets without feature noise keep their seeds.
    const bool noisy = o.feature_noise > 0 && rng.uniform() < o.feature_noise;
    const uint32_t t = noisy ? rng.uniform_index(num_topics) : truth.item_topic[i];
    items.set_categorical(i, f_category, "c" + two_digits(t));
    for (uint32_t k = 0; k < o.tags_per_item; ++k) {
      const uint32_t tag = rng.uniform() < o.tag_noise ? rng.uniform_index(tags_per_topic * num_topics)
                                                       : t * tags_per_topic + rng.uniform_index(tags_per_topic);
      items.add_value(i, f_tags, "t" + std::to_string(tag));
    }
    const double price = std::exp(std::log(10.0 + 15.0 * (t % 7)) + 0.4 * rng.normal());
    items.set_numeric(i, f_price, static_cast<float>(std::round(price * 100.0) / 100.0));
  }

  // Users: tastes, a segment feature that mostly names the dominant topic, a country.
  truth.user_taste.resize(static_cast<size_t>(o.num_users) * num_topics);
  truth.user_taste_late.resize(static_cast<size_t>(o.num_users) * num_topics);
  FeatureTable& users = cat.user_features;
  const uint32_t f_segment = *users.add_field("segment", FeatureKind::kCategorical);
  const uint32_t f_country = *users.add_field("country", FeatureKind::kCategorical);
  static const char* const kCountries[] = {"us", "de", "fr", "jp", "br", "in", "gb", "es"};
  const AliasTable country_table(std::vector<double>{8, 4, 3, 3, 2, 2, 2, 1});
  for (uint32_t u = 0; u < o.num_users; ++u) {
    auto early = dirichlet(rng, num_topics, o.user_focus);
    auto late = o.drift > 0 ? dirichlet(rng, num_topics, o.user_focus) : early;
    std::copy(early.begin(), early.end(), truth.user_taste.begin() + static_cast<size_t>(u) * num_topics);
    std::copy(late.begin(), late.end(), truth.user_taste_late.begin() + static_cast<size_t>(u) * num_topics);
    const auto dominant = static_cast<uint32_t>(std::max_element(early.begin(), early.end()) - early.begin());
    users.set_categorical(u, f_segment,
                          "s" + two_digits(rng.uniform() < 0.8 ? dominant : rng.uniform_index(num_topics)));
    users.set_categorical(u, f_country, kCountries[country_table.draw(rng)]);
  }

  // Explicit ratings: biases plus how much the user likes the item's topic, plus noise.
  std::vector<float> user_bias, item_bias;
  if (o.ratings) {
    for (uint32_t u = 0; u < o.num_users; ++u) user_bias.push_back(static_cast<float>(0.35 * rng.normal()));
    for (uint32_t i = 0; i < o.num_items; ++i) {
      const double quality = 0.4 * (1.0 - static_cast<double>(rank[i]) / o.num_items);
      item_bias.push_back(static_cast<float>(quality + 0.3 * rng.normal()));
    }
  }
  const EventType funnel_types[] = {*cat.event_types.intern("view"), *cat.event_types.intern("click"),
                                    *cat.event_types.intern("cart"), *cat.event_types.intern("purchase")};
  // Deeper funnel steps (cart, purchase) are likelier on items of a topic the user is into,
  // so event weights carry signal, as they do in real logs.
  const AliasTable casual_types(std::vector<double>{0.85, 0.10, 0.04, 0.01});
  const AliasTable keen_types(std::vector<double>{0.45, 0.25, 0.15, 0.15});
  const EventType rating_type = *cat.event_types.intern("rating");

  // Planted successors, from a generator of their own so that sets without them keep their seeds.
  AliasTable successor_choice;
  if (o.sequential > 0) {
    Rng planted(o.seed ^ 0x5eb1e5ULL);
    // Successors come from the item's own topic, by popularity there: what follows an item
    // resembles it (the next lipstick after a mascara), so embeddings can learn the pattern,
    // as they do on real sequences, instead of memorising random pairs.
    truth.item_successors.resize(static_cast<size_t>(o.num_items) * SynthTruth::kSuccessors);
    for (uint32_t i = 0; i < o.num_items; ++i) {
      const uint32_t topic = truth.item_topic[i];
      for (uint32_t r = 0; r < SynthTruth::kSuccessors; ++r)
        truth.item_successors[static_cast<size_t>(i) * SynthTruth::kSuccessors + r] =
            topic_items[topic][topic_tables[topic].draw(planted)];
    }
    std::vector<double> rank_weights;
    for (uint32_t r = 0; r < SynthTruth::kSuccessors; ++r) rank_weights.push_back(1.0 / (1.0 + r));
    successor_choice = AliasTable(rank_weights);
  }

  const std::vector<uint32_t> activity = user_activity(o, rng);
  Interactions& out = builder.interactions();
  out.reserve(o.num_interactions);
  std::vector<uint32_t> seen_by(o.num_items, UINT32_MAX);  // last user who took each item
  std::vector<int64_t> times;
  Progress progress("synth", o.num_interactions);
  for (uint32_t u = 0; u < o.num_users; ++u) {
    const float* early = truth.user_taste.data() + static_cast<size_t>(u) * num_topics;
    const float* late = truth.user_taste_late.data() + static_cast<size_t>(u) * num_topics;
    // Session start times, then events a minute or two apart inside each session.
    const uint32_t n = activity[u];
    times.clear();
    while (times.size() < n) {
      auto t = o.start_time + static_cast<int64_t>(rng.uniform() * static_cast<double>(o.span_seconds));
      const auto len = static_cast<uint32_t>(1 + rng.exponential(1.0 / (o.mean_session_events - 1.0 + 1e-9)));
      for (uint32_t k = 0; k < len && times.size() < n; ++k) {
        times.push_back(t);
        t += 1 + static_cast<int64_t>(rng.exponential(1.0 / kSecondsBetweenSessionEvents));
      }
    }
    std::sort(times.begin(), times.end());
    uint32_t session_topic = 0;
    for (uint32_t k = 0; k < n; ++k) {
      const double tau = static_cast<double>(times[k] - o.start_time) / static_cast<double>(o.span_seconds);
      const float* taste = rng.uniform() < o.drift * tau ? late : early;
      const bool new_session = k == 0 || times[k] - times[k - 1] > kSessionGapSeconds;
      if (new_session) session_topic = draw_from(taste, num_topics, rng);
      // Drawn only when asked for, so sets without a sequential signal keep their seeds.
      const bool follows = o.sequential > 0 && !new_session && rng.uniform() < o.sequential;
      uint32_t item = 0;
      for (int attempt = 0;; ++attempt) {
        if (follows && attempt < kSuccessorTries) {
          const uint32_t previous = out.items.back();
          item = truth.item_successors[static_cast<size_t>(previous) * SynthTruth::kSuccessors +
                                       successor_choice.draw(rng)];
        } else if (rng.uniform() < o.noise) {
          item = global_table.draw(rng);
        } else {
          const uint32_t topic =
              rng.uniform() < o.session_stickiness ? session_topic : draw_from(taste, num_topics, rng);
          item = topic_items[topic][topic_tables[topic].draw(rng)];
        }
        if (!o.unique_pairs || seen_by[item] != u) break;
        if (attempt >= kTasteRedraws) {
          // The user has exhausted their tastes: an unseen item by global popularity, which
          // keeps the popularity skew (a uniform pick would flatten the tail).
          for (int tries = 0; tries < kPopularityRedraws && seen_by[item] == u; ++tries) item = global_table.draw(rng);
          while (seen_by[item] == u) item = rng.uniform_index(o.num_items);
          break;
        }
      }
      seen_by[item] = u;
      if (o.ratings) {
        const float affinity = taste[truth.item_topic[item]] * static_cast<float>(num_topics);
        const double r = kRatingBase + user_bias[u] + item_bias[item] +
                         kAffinityWeight * std::tanh(std::log(affinity + 0.05)) + kRatingNoise * rng.normal();
        out.push_back(u, item, rating_type, static_cast<float>(std::clamp(std::round(r), 1.0, 5.0)), times[k]);
      } else {
        const bool keen = taste[truth.item_topic[item]] * static_cast<float>(num_topics) >= 2.f;
        out.push_back(u, item, funnel_types[(keen ? keen_types : casual_types).draw(rng)], 1.f, times[k]);
      }
    }
    progress.advance(n);
  }
  return SynthData{builder.build(), std::move(truth)};
}

}  // namespace nudge
