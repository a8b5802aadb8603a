#include "nudge/synth.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <span>
#include <string>
#include <utility>

#include "nudge/progress.h"
#include "nudge/rng.h"

namespace nudge {
namespace {

// Events further apart than this start a new session (a new session topic).
constexpr int64_t kSessionGapSeconds = 1800;
// Mean seconds between events of one session.
constexpr double kSecondsBetweenSessionEvents = 90.0;
// Mean seconds between untied events of a session in a user's window (MovieLens: 89 % of
// consecutive ratings within a minute).
constexpr double kSecondsBetweenTiedEvents = 20.0;
// late_tail's draws weigh items by popularity to this power: much flatter than the Zipf law.
constexpr double kTailFlattening = 0.3;
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

// Symmetric with concentration alpha per topic, or (prior not empty) alpha x k x prior[t]:
// topics with a larger prior are in more users' tastes.
std::vector<float> dirichlet(Rng& rng, uint32_t k, double alpha, const std::vector<double>& prior = {}) {
  std::vector<float> out(k);
  double sum = 0;
  for (uint32_t t = 0; t < k; ++t) {
    out[t] = static_cast<float>(rng.gamma(prior.empty() ? alpha : alpha * k * prior[t]));
    sum += out[t];
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
  for (double f : {o.noise, o.drift, o.tag_noise, o.session_stickiness, o.feature_noise, o.sequential, o.tied_events,
                   o.attribute_signal, o.late_tail}) {
    if (!(f >= 0.0 && f <= 1.0))
      return Status::invalid_argument(
          "synth: noise, drift, tag_noise, stickiness, sequential, tied_events, attribute_signal and late_tail must be "
          "in "
          "[0, 1]");
  }
  if (!(o.activity_spread >= 0 && o.activity_spread <= 5) || o.user_span_seconds < 0 ||
      !(o.topic_skew >= 0 && o.topic_skew <= 5))
    return Status::invalid_argument("synth: activity_spread and topic_skew in [0, 5], user_span_seconds >= 0");
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
  for (auto& x : w) x = std::exp(o.activity_spread * rng.normal());
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

std::string two_digits(uint32_t v) { return (v < 10 ? "0" : "") + std::to_string(v); }

// Shop items: the category names the topic, tags come from the topic's pool, prices by topic.
void describe_shop_items(const SynthOptions& o, const SynthTruth& truth, Rng& rng, FeatureTable& items) {
  const uint32_t num_topics = o.num_topics;
  const uint32_t f_category = *items.add_field("category", FeatureKind::kCategorical);
  const uint32_t f_tags = *items.add_field("tags", FeatureKind::kMultiCategorical);
  const uint32_t f_price = *items.add_field("price", FeatureKind::kNumeric);
  const uint32_t tags_per_topic = std::max(1u, o.num_tags / num_topics);
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
}

// MovieLens' 18 genres with their counts over its 3,883 movies: Drama and Comedy on most.
constexpr std::pair<const char*, double> kGenres[] = {
    {"Drama", 1603}, {"Comedy", 1200},     {"Action", 503},  {"Thriller", 492},   {"Romance", 471},
    {"Horror", 343}, {"Adventure", 283},   {"Sci-Fi", 276},  {"Children's", 251}, {"Crime", 211},
    {"War", 143},    {"Documentary", 127}, {"Musical", 114}, {"Mystery", 106},    {"Animation", 105},
    {"Fantasy", 68}, {"Western", 68},      {"Film-Noir", 44}};

AliasTable table_of(std::span<const std::pair<const char*, double>> values) {
  std::vector<double> w;
  for (const auto& v : values) w.push_back(v.second);
  return AliasTable(w);
}

// Movies: each topic has a main genre and maybe a second one (by the genres' frequencies);
// an item takes its topic's main genre, sometimes the second, sometimes a random one, and a
// release year near its topic's era. With many more topics than genres, the genres say
// little that co-occurrence does not.
void describe_movie_items(const SynthOptions& o, const SynthTruth& truth, Rng& rng, FeatureTable& items) {
  const uint32_t f_genre = *items.add_field("genre", FeatureKind::kMultiCategorical);
  const uint32_t f_year = *items.add_field("year", FeatureKind::kNumeric);
  const AliasTable genres = table_of(kGenres);
  std::vector<uint32_t> main_genre(o.num_topics), second_genre(o.num_topics);
  std::vector<double> era(o.num_topics);
  for (uint32_t t = 0; t < o.num_topics; ++t) {
    main_genre[t] = genres.draw(rng);
    second_genre[t] = rng.uniform() < 0.5 ? genres.draw(rng) : main_genre[t];
    const double back = rng.uniform();
    era[t] = 1999.0 - 45.0 * back * back * back;  // most movies are recent
  }
  for (uint32_t i = 0; i < o.num_items; ++i) {
    const uint32_t t = rng.uniform() < o.feature_noise ? rng.uniform_index(o.num_topics) : truth.item_topic[i];
    items.add_value(i, f_genre, kGenres[main_genre[t]].first);
    if (rng.uniform() < 0.4) items.add_value(i, f_genre, kGenres[second_genre[t]].first);
    if (rng.uniform() < 0.25) items.add_value(i, f_genre, kGenres[genres.draw(rng)].first);
    items.set_numeric(i, f_year,
                      static_cast<float>(std::clamp(std::round(era[t] + 3.0 * rng.normal()), 1919.0, 2000.0)));
  }
}

// MovieLens-1M's user attributes with their counts over its 6,040 users.
constexpr std::pair<const char*, double> kGenders[] = {{"M", 4331}, {"F", 1709}};
constexpr std::pair<const char*, double> kAges[] = {{"1", 222},  {"18", 1103}, {"25", 2096}, {"35", 1193},
                                                    {"45", 550}, {"50", 496},  {"56", 380}};
constexpr std::pair<const char*, double> kOccupations[] = {
    {"0", 711},  {"1", 528},  {"2", 267},  {"3", 173},  {"4", 759},  {"5", 112},  {"6", 236},
    {"7", 679},  {"8", 17},   {"9", 92},   {"10", 195}, {"11", 129}, {"12", 388}, {"13", 142},
    {"14", 302}, {"15", 144}, {"16", 241}, {"17", 502}, {"18", 70},  {"19", 72},  {"20", 281}};

// A user's attributes, each following the user's dominant topic with probability
// attribute_signal. Shop: a segment naming the topic and a country. Movies: gender, age band
// and occupation, each topic preferring values drawn from the marginals (from a generator
// of its own, so the shop schema keeps its seeds).
class UserDescriber {
 public:
  UserDescriber(const SynthOptions& o, FeatureTable& users) : o_(o), users_(users) {
    if (o.schema == SynthSchema::kShop) {
      fields_ = {*users.add_field("segment", FeatureKind::kCategorical),
                 *users.add_field("country", FeatureKind::kCategorical)};
      return;
    }
    Rng preferences(o.seed ^ 0xa77b5ULL);
    const std::pair<const char*, std::span<const std::pair<const char*, double>>> movie_fields[] = {
        {"gender", kGenders}, {"age", kAges}, {"occupation", kOccupations}};
    for (const auto& [name, values] : movie_fields) {
      fields_.push_back(*users.add_field(name, FeatureKind::kCategorical));
      values_.push_back(values);
      tables_.push_back(table_of(values));
      preferred_.emplace_back();
      for (uint32_t t = 0; t < o.num_topics; ++t) preferred_.back().push_back(tables_.back().draw(preferences));
    }
  }
  void operator()(uint32_t u, uint32_t dominant, Rng& rng) {
    if (o_.schema == SynthSchema::kShop) {
      static const char* const kCountries[] = {"us", "de", "fr", "jp", "br", "in", "gb", "es"};
      users_.set_categorical(
          u, fields_[0],
          "s" + two_digits(rng.uniform() < o_.attribute_signal ? dominant : rng.uniform_index(o_.num_topics)));
      users_.set_categorical(u, fields_[1], kCountries[countries_.draw(rng)]);
      return;
    }
    for (size_t f = 0; f < fields_.size(); ++f) {
      const uint32_t v = rng.uniform() < o_.attribute_signal ? preferred_[f][dominant] : tables_[f].draw(rng);
      users_.set_categorical(u, fields_[f], values_[f][v].first);
    }
  }

 private:
  const SynthOptions& o_;
  FeatureTable& users_;
  std::vector<uint32_t> fields_;
  std::vector<std::span<const std::pair<const char*, double>>> values_;
  std::vector<AliasTable> tables_;
  std::vector<std::vector<uint32_t>> preferred_;  // field -> topic -> value
  AliasTable countries_{std::vector<double>{8, 4, 3, 3, 2, 2, 2, 1}};
};

// A user's n event times, ascending, and which events start a session (its topic is drawn
// anew). Without user_span_seconds, sessions start anywhere in the span and a gap of over
// half an hour starts a new one; with it, sessions follow one another in the user's window
// and in-session events share the previous event's second with probability tied_events.
void event_times(const SynthOptions& o, uint32_t n, Rng& rng, std::vector<int64_t>* times,
                 std::vector<uint8_t>* starts) {
  times->clear();
  starts->assign(n, 0);
  auto session_length = [&] {
    return static_cast<uint32_t>(1 + rng.exponential(1.0 / (o.mean_session_events - 1.0 + 1e-9)));
  };
  if (o.user_span_seconds == 0) {
    // Session start times, then events a minute or two apart inside each session.
    while (times->size() < n) {
      auto t = o.start_time + static_cast<int64_t>(rng.uniform() * static_cast<double>(o.span_seconds));
      const uint32_t len = session_length();
      for (uint32_t k = 0; k < len && times->size() < n; ++k) {
        times->push_back(t);
        t += 1 + static_cast<int64_t>(rng.exponential(1.0 / kSecondsBetweenSessionEvents));
      }
    }
    std::sort(times->begin(), times->end());
    for (uint32_t k = 0; k < n; ++k) (*starts)[k] = k == 0 || (*times)[k] - (*times)[k - 1] > kSessionGapSeconds;
    return;
  }
  // The window's length: log-normal around the median, sigma 2.9 (p90 about 40x the median).
  const double window = std::min(static_cast<double>(o.span_seconds),
                                 static_cast<double>(o.user_span_seconds) * std::exp(2.9 * rng.normal()));
  int64_t t = o.start_time + static_cast<int64_t>(rng.uniform() * (static_cast<double>(o.span_seconds) - window));
  const double sessions = std::max(1.0, static_cast<double>(n) / o.mean_session_events);
  while (times->size() < n) {
    (*starts)[times->size()] = 1;
    const uint32_t len = session_length();
    for (uint32_t k = 0; k < len && times->size() < n; ++k) {
      if (k > 0 && rng.uniform() >= o.tied_events)
        t += 1 + static_cast<int64_t>(rng.exponential(1.0 / kSecondsBetweenTiedEvents));
      times->push_back(t);
    }
    t += kSessionGapSeconds + static_cast<int64_t>(rng.uniform() * 2.0 * window / sessions);
  }
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
  // The topics' tails: popularity flattened to the power kTailFlattening (late_tail).
  std::vector<AliasTable> tail_tables(o.late_tail > 0 ? num_topics : 0);
  for (uint32_t t = 0; t < tail_tables.size(); ++t) {
    std::vector<double> w;
    for (uint32_t i : topic_items[t]) w.push_back(std::pow(truth.item_popularity[i], kTailFlattening));
    tail_tables[t] = AliasTable(w);
  }
  const AliasTable global_table(std::vector<double>(truth.item_popularity.begin(), truth.item_popularity.end()));

  DatasetBuilder builder;
  Catalog& cat = builder.catalog();
  for (uint32_t i = 0; i < o.num_items; ++i) cat.items.intern("i" + std::to_string(i + 1));
  for (uint32_t u = 0; u < o.num_users; ++u) cat.users.intern("u" + std::to_string(u + 1));
  if (o.schema == SynthSchema::kShop) describe_shop_items(o, truth, rng, cat.item_features);
  else describe_movie_items(o, truth, rng, cat.item_features);

  // Users: tastes, a segment feature that mostly names the dominant topic, a country.
  truth.user_taste.resize(static_cast<size_t>(o.num_users) * num_topics);
  truth.user_taste_late.resize(static_cast<size_t>(o.num_users) * num_topics);
  UserDescriber describe_user(o, cat.user_features);
  std::vector<double> topic_prior;  // empty: every topic alike
  if (o.topic_skew > 0) {
    for (uint32_t t = 0; t < num_topics; ++t) topic_prior.push_back(std::pow(t + 1.0, -o.topic_skew));
    const double total = std::accumulate(topic_prior.begin(), topic_prior.end(), 0.0);
    for (double& w : topic_prior) w /= total;
  }
  for (uint32_t u = 0; u < o.num_users; ++u) {
    auto early = dirichlet(rng, num_topics, o.user_focus, topic_prior);
    auto late = o.drift > 0 ? dirichlet(rng, num_topics, o.user_focus, topic_prior) : early;
    std::copy(early.begin(), early.end(), truth.user_taste.begin() + static_cast<size_t>(u) * num_topics);
    std::copy(late.begin(), late.end(), truth.user_taste_late.begin() + static_cast<size_t>(u) * num_topics);
    const auto dominant = static_cast<uint32_t>(std::max_element(early.begin(), early.end()) - early.begin());
    describe_user(u, dominant, rng);
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
  std::vector<uint8_t> session_starts;
  Progress progress("synth", o.num_interactions);
  for (uint32_t u = 0; u < o.num_users; ++u) {
    const float* early = truth.user_taste.data() + static_cast<size_t>(u) * num_topics;
    const float* late = truth.user_taste_late.data() + static_cast<size_t>(u) * num_topics;
    const uint32_t n = activity[u];
    event_times(o, n, rng, &times, &session_starts);
    uint32_t session_topic = 0;
    for (uint32_t k = 0; k < n; ++k) {
      const double tau = static_cast<double>(times[k] - o.start_time) / static_cast<double>(o.span_seconds);
      const float* taste = rng.uniform() < o.drift * tau ? late : early;
      const bool new_session = session_starts[k] != 0;
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
          // Later in a user's history, more often a pick from the topic's long tail.
          const bool tail = o.late_tail > 0 && rng.uniform() < o.late_tail * static_cast<double>(k) / n;
          item = topic_items[topic][(tail ? tail_tables : topic_tables)[topic].draw(rng)];
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

SynthOptions SynthOptions::movielens_1m(double scale) {
  SynthOptions o;
  const double s = std::clamp(scale, 1e-3, 1.0);
  o.num_users = std::max(50u, static_cast<uint32_t>(std::round(6040 * s)));
  o.num_items = std::max(100u, static_cast<uint32_t>(std::round(3706 * std::sqrt(s))));
  o.num_interactions = static_cast<uint64_t>(std::round(static_cast<double>(o.num_users) * 165.6));
  o.min_user_interactions = 20;
  o.activity_spread = 1.2;
  o.num_topics = 120;
  o.user_focus = 0.05;
  o.popularity_exponent = 1.6;
  o.topic_skew = 1.2;
  o.late_tail = 0.8;
  o.ratings = true;
  o.noise = 0.15;
  o.mean_session_events = 10.0;
  o.schema = SynthSchema::kMovies;
  o.feature_noise = 0.3;
  o.attribute_signal = 0.25;
  o.user_span_seconds = 3 * 3600;
  o.tied_events = 0.55;
  o.span_seconds = 3 * 365 * 86400;
  o.start_time = 956'700'000;  // 2000-04-25, as MovieLens-1M starts
  return o;
}

}  // namespace nudge
