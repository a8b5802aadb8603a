// Synthetic data with planted structure: the data for the demo, the tests and the benchmarks.
//
// Each user has a hidden taste: a sparse mixture over num_topics topics (Dirichlet with
// concentration user_focus). Each item belongs to one topic, which is also its category; its
// tags and price are drawn from topic-specific distributions, so features carry the same
// signal as behaviour. Item popularity follows a Zipf law. A user's events come in sessions:
// a session picks a topic from the taste and mostly stays on it; each event picks an item of
// that topic by popularity, or (with probability noise) any item by popularity. Events on a
// topic the user is keen on (taste at least twice the average) more often go on to cart and
// purchase. With drift > 0 each user's taste moves towards a second mixture as time passes.
// With sequential > 0 the order of events carries signal of its own: every item has
// kSuccessors planted successors (of its own topic, drawn by popularity, the first the likeliest),
// and an event after another of the same session is, with that probability, one of the
// previous item's successors: what comes next depends on what came just before, which a
// model reading a bag of items cannot see.
// With schema = kMovies the features are shaped like MovieLens': items carry multi-label
// genres (18, a popular few on most items) and a release year, users a gender, an age band
// and an occupation. Topics far outnumber genres and attributes follow taste only with
// probability attribute_signal, so features say little beyond what co-occurrence says, as
// on the real set. user_span_seconds and tied_events compress each user's events into a
// short window with many equal timestamps (most MovieLens users rated everything in one
// day, half of consecutive ratings in the same second). movielens_1m() sets all of it.
// Generation is O(events) (alias tables), single-threaded and fully determined by the seed.
#pragma once

#include <cstdint>
#include <vector>

#include "nudge/dataset.h"
#include "nudge/status.h"

namespace nudge {

enum class SynthSchema { kShop, kMovies };

struct SynthOptions {
  uint32_t num_users = 6000;
  uint32_t num_items = 3700;
  uint64_t num_interactions = 1'000'000;
  uint32_t num_topics = 20;          // hidden taste clusters; each is an item category
  double user_focus = 0.1;           // Dirichlet concentration of tastes: smaller = more focused
  double popularity_exponent = 1.3;  // Zipf exponent (1.3 gives a MovieLens-like Gini near 0.55)
  double noise = 0.1;                // share of events chosen by global popularity alone
  double session_stickiness = 0.7;   // chance an event stays on its session's topic
  double mean_session_events = 6.0;
  uint32_t num_tags = 200;  // split evenly between topics
  uint32_t tags_per_item = 3;
  double tag_noise = 0.2;              // chance a tag comes from another topic's pool
  double feature_noise = 0.0;          // share of items whose features describe a random topic
                                       // (their signal then lives only in co-occurrence)
  bool ratings = false;                // explicit 1-5 ratings instead of view/click/cart/purchase
  double drift = 0.0;                  // 0..1: how far tastes move over the time span
  double sequential = 0.0;             // 0..1: share of in-session events that follow the previous item
  int64_t start_time = 1'600'000'000;  // seconds since the epoch
  int64_t span_seconds = 180 * 86400;
  uint32_t min_user_interactions = 5;
  bool unique_pairs = true;      // each (user, item) at most once (like MovieLens)
  double activity_spread = 1.1;  // log-normal sigma of events per user
  double topic_skew = 0.0;       // > 0: topic t is in tastes with weight (t + 1)^-skew (popular genres)
  // 0: sessions anywhere in the span. > 0: a user's sessions follow one another in a window
  // of this median length (log-normal, p90 about 40x the median) from a random start.
  int64_t user_span_seconds = 0;
  double tied_events = 0.0;  // chance an in-session event has the previous event's second
  // 0..1: the chance that a user's k-th of n events is a pick from its topic's long tail
  // (popularity flattened) is late_tail x k / n: users take the well-known items first, as
  // MovieLens users rate the famous films first and find the obscure ones later.
  double late_tail = 0.0;
  SynthSchema schema = SynthSchema::kShop;
  double attribute_signal = 0.8;  // chance a user attribute follows the dominant topic
  uint64_t seed = 42;

  // Shaped like MovieLens-1M as docs/data-shapes.md measures it: 6,040 users, 3,706 items,
  // 1,000,209 events, at least 20 per user (median about 96), popularity Gini about .65,
  // weak genres and attributes, most timestamps tied. scale < 1 shrinks users and events by
  // scale and items by its square root, so history lengths stay and density grows by
  // 1/sqrt(scale): the small version tests use.
  static SynthOptions movielens_1m(double scale = 1.0);
};

// The hidden truth, for tests and for checking that models recover it.
struct SynthTruth {
  uint32_t num_topics = 0;
  std::vector<float> user_taste;       // num_users x num_topics, rows sum to 1 (start of time)
  std::vector<float> user_taste_late;  // the same at the end of the span (drift target)
  std::vector<uint32_t> item_topic;    // num_items
  std::vector<float> item_popularity;  // num_items, Zipf weights (unnormalised)
  static constexpr uint32_t kSuccessors = 4;
  std::vector<uint32_t> item_successors;  // num_items x kSuccessors with sequential > 0, else empty
};

struct SynthData {
  Dataset dataset;
  SynthTruth truth;
};

// Fails on impossible sizes (e.g. fewer events than users x min_user_interactions, or more
// unique pairs than half the user-item grid).
Result<SynthData> synthesize(const SynthOptions& options);

}  // namespace nudge
