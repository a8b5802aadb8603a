// The engine's shared state (internal to src/serve): the catalogue, per-user online state,
// the training log and the current model, with the locks that guard them.
//
// Lock order: a user's mutex is never held while taking catalog_mutex or users_mutex; the
// catalogue and user-table locks are taken one at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "nudge/event_types.h"
#include "nudge/id_map.h"
#include "nudge/interactions.h"
#include "nudge/serve/engine.h"

namespace nudge::serve {

struct UserState {
  mutable std::mutex mutex;
  std::vector<uint32_t> items;         // sorted catalogue indices
  std::vector<float> weights;          // summed implicit weight per item
  Eigen::VectorXf vector;              // folded in against model `vector_version`
  uint64_t vector_version = 0;         // 0: stale (an event arrived since)
  std::string attributes = "{}";
};

struct ItemState {
  ItemRecord record;                   // features as last PUT (id filled in even if never PUT)
  Eigen::VectorXf cold_vector;         // from features, for items the model has no vector for
  // History path: the features the model scores a new item by (the two-tower item tower).
  ItemDescription description;
  bool described = false;
  double log_trend = -std::numeric_limits<double>::infinity();  // log of the decayed count
};

// Items with events, best first by decayed popularity, scores relative to the top item. Decay
// is shared by every item, so the order changes only when events arrive.
struct TrendingRanking {
  std::vector<ScoredItem> order;
  std::chrono::steady_clock::time_point built;
  uint64_t updates = 0;                // State::trend_updates when built
};

struct Engine::State {
  EngineOptions options;
  std::unique_ptr<EventStore> store;
  double trend_rate = 0;               // ln 2 / half-life in seconds

  mutable std::shared_mutex catalog_mutex;  // items, item_states, event_types, cold_items
  IdMap items;
  std::vector<ItemState> item_states;
  EventTypes event_types;
  std::vector<uint32_t> cold_items;    // items without a model row scored from features, ascending
  // Category / tag -> items carrying it (ascending), so filtered requests score only those.
  std::unordered_map<std::string, std::vector<uint32_t>> items_by_category, items_by_tag;
  std::vector<uint32_t> hidden_items;  // ascending; unfiltered requests skip these without reading records
  std::atomic<uint64_t> trend_updates{0};   // apply() bumps it under catalog_mutex
  mutable std::mutex trending_mutex;        // guards `trending`; one re-sort at a time
  mutable std::shared_ptr<const TrendingRanking> trending;

  mutable std::shared_mutex users_mutex;    // users, user_states (the vector, not the states)
  IdMap users;
  std::vector<std::unique_ptr<UserState>> user_states;

  std::mutex log_mutex;
  Interactions log;                    // every event in catalogue indices: the training set

  std::atomic<std::shared_ptr<const ServingModel>> model;
  std::mutex retrain_mutex;            // one retrain at a time
  std::string retrain_spec;            // what retrains fit; empty: the default (set at open)
  std::atomic<uint64_t> next_version{1};
  std::atomic<uint64_t> events_since_train{0};
  std::atomic<uint64_t> retrains{0}, retrain_failures{0};
  uint64_t records_skipped = 0;  // at startup; constant afterwards
  std::atomic<int> retrain_holds{0};   // > 0: no retrain by count or schedule (bulk loads)

  std::mutex wake_mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::vector<std::function<void(const Status&)>> retrain_requests;  // guarded by wake_mutex
  std::thread retrainer;

  // Callers hold catalog_mutex exclusively.
  uint32_t intern_item(std::string_view id);
  void set_record(uint32_t item, ItemRecord record);  // keeps items_by_category/tag current
  // Callers hold catalog_mutex (shared is enough). Re-sorted when events arrived and the
  // last sort is older than options.trending_refresh_s.
  std::shared_ptr<const TrendingRanking> trending_ranking() const;
  void refresh_cold_vector(uint32_t item, const ServingModel* m);
  // Callers hold users_mutex exclusively.
  uint32_t intern_user(std::string_view id);
  UserState* find_user(std::string_view id) const;  // takes users_mutex shared

  void apply(const std::vector<Event>& events);
  Status retrain();
  void retrain_loop();
  std::string model_path() const { return options.data_dir + "/model.nudge"; }
  std::string version_path() const { return options.data_dir + "/model.version"; }
  std::string spec_path() const { return options.data_dir + "/model.spec"; }
  // The spec the next retrain fits: the configured one, else the kept one, else the default.
  std::string spec_to_train(bool items_have_features) const;
  // The version of the saved model (model.version), 1 when there is none.
  uint64_t read_saved_version() const;
  Status load_saved_model();
};

}  // namespace nudge::serve
