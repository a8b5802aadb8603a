// The engine's tables (internal to src/serve), each owning its data and its lock: the
// catalogue, the user table and each user's state, and the training log. Data behind a lock
// is reachable only through a guard of that lock (guarded.h), and every lock is ranked
// (lock_rank.h): a thread takes locks in rank order or aborts, so the order is enforced, not
// only written down. The model slots and the retrain thread are the Retrainer's
// (retrainer.h); Engine::State (engine_state.h) holds them all.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "nudge/dataset.h"
#include "nudge/event_types.h"
#include "nudge/id_map.h"
#include "nudge/interactions.h"
#include "nudge/serve/engine.h"
#include "serve/guarded.h"
#include "serve/lock_rank.h"

namespace nudge::serve {

// One user's online state (behind UserState's lock).
struct UserData {
  // Most recent items kept per user: the two-tower user tower reads up to its `history`
  // (20 by default) of them, sasrec up to its max_length (50 by default).
  static constexpr size_t kRecentItems = 64;
  std::vector<uint32_t> items;   // sorted catalogue indices
  std::vector<float> weights;    // summed implicit weight per item
  std::vector<uint32_t> recent;  // items of positive events, newest first, distinct
  // Per arm: the user's vector folded in against that arm's model `version`.
  struct Folded {
    Eigen::VectorXf vector;
    uint64_t version = 0;  // 0: stale (an event arrived since)
  };
  std::vector<Folded> folded;
  // The user's last events as they came, oldest first (GET /v1/users/{id}, the console): a
  // few, about 200 bytes a user.
  struct PastEvent {
    int64_t timestamp = 0;
    uint32_t item = 0;
    float value = 0;
    EventType type = 0;
  };
  static constexpr size_t kPastEvents = 8;
  std::vector<PastEvent> events;
  std::string attributes = "{}";
  // The attributes as features (user_attributes.h), replaced whole on PUT: requests share
  // it instead of copying its strings.
  std::shared_ptr<const FeatureDescription> description = std::make_shared<const FeatureDescription>();

  void add(uint32_t item, float weight);  // one event's item and implicit weight
  void remember(const PastEvent& e);      // keeps the last kPastEvents
  void set_attributes(std::string json);
};
using UserState = Guarded<UserData, LockRank::kUser>;

struct ItemState {
  ItemRecord record;  // features as last PUT (id filled in even if never PUT)
  // History path: the features a model scores a new item by (the two-tower item tower).
  FeatureDescription description;
  double log_trend = -std::numeric_limits<double>::infinity();  // log of the decayed count
};

// Items with events, best first by decayed popularity, scores relative to the top item. Decay
// is shared by every item, so the order changes only when events arrive.
struct TrendingRanking {
  std::vector<ScoredItem> order;
  std::chrono::steady_clock::time_point built;
  uint64_t updates = 0;  // State::trend_updates when built
};

// The catalogue: items, their records, event types and the indexes derived from them
// (behind Engine::State::catalogue's lock).
struct Catalogue {
  IdMap items;
  std::vector<ItemState> item_states;
  EventTypes event_types;
  // What one arm's model makes of the items it has no row for: each arm has its own view.
  // Items scored from their features, ascending: on the factor path with their feature
  // vector; on the history path described, with an empty vector (the model scores the
  // description).
  using ColdView = std::map<uint32_t, Eigen::VectorXf>;
  std::vector<ColdView> cold;  // per arm
  // Category / tag -> items carrying it (ascending), so filtered requests score only those.
  std::unordered_map<std::string, std::vector<uint32_t>> items_by_category, items_by_tag;
  std::vector<uint32_t> hidden_items;  // ascending; unfiltered requests skip these without reading records
  double trend_rate = 0;               // ln 2 / half-life in seconds
  double trending_refresh_s = 0;
  std::atomic<uint64_t> trend_updates{0};  // bumped by every batch of events (under the write lock)

  uint32_t intern_item(std::string_view id);
  void set_record(uint32_t item, ItemRecord record);  // keeps items_by_category/tag current
  void refresh_cold(uint32_t item, size_t arm, const ServingModel* m);
  // Re-sorted when events arrived and the last sort is older than trending_refresh_s (a
  // reader may call it: the ranking is a cache with a lock of its own).
  std::shared_ptr<const TrendingRanking> trending_ranking() const;

 private:
  mutable RankedMutex<LockRank::kCache> trending_mutex_;  // one re-sort at a time
  mutable std::shared_ptr<const TrendingRanking> trending_;
};

// User IDs and their states. Its lock is never held outside its methods; a state's address
// stays valid for the engine's life.
class UserTable {
 public:
  UserState* intern(std::string_view id);
  // Interns every event's user: their indices (as in the training log) and states, in order.
  void intern(const std::vector<Event>& events, std::vector<uint32_t>* indices, std::vector<UserState*>* states);
  UserState* find(std::string_view id) const;
  size_t size() const;
  // A copy of the IDs and, when `attributes` is not null, each user's attributes as
  // features (index order), taken together.
  IdMap ids(std::vector<FeatureDescription>* attributes = nullptr) const;

 private:
  mutable RankedSharedMutex<LockRank::kTable> mutex_;
  IdMap ids_;
  std::vector<std::unique_ptr<UserState>> states_;
};

// Every event in catalogue indices: the training set. Its lock is never held outside its methods.
class TrainingLog {
 public:
  void append(const std::vector<Event>& events, const std::vector<uint32_t>& users, const std::vector<uint32_t>& items,
              const std::vector<EventType>& types);
  Interactions copy() const;
  size_t size() const;

 private:
  mutable RankedMutex<LockRank::kTable> mutex_;
  Interactions log_;
};

}  // namespace nudge::serve
