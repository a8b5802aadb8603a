// Retrainer (internal to src/serve): the engine's model slots and everything that changes
// them. It owns one served model per arm, the version numbers, the background thread that
// retrains by event count, by schedule or on request, the holds that pause it during bulk
// loads, and the listener told of every new main model (the cluster publishes it).
//
// A retrain copies the training log and the tables (engine_state.h) under their own locks,
// fits every arm on that copy without any table lock, saves each model, then swaps it in
// under the catalogue's write lock (each arm's view of cold items is refreshed with it).
// Requests keep the model they started with: a slot is an atomic shared_ptr.
//
// Locks, all ranked (lock_rank.h): kRetrain (one retrain or install at a time), then
// kListener (the listener, called with kRetrain held), then the tables; kSignal (the wake-up
// queue) is taken alone. Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "nudge/serve/engine.h"
#include "serve/engine_tables.h"
#include "serve/lock_rank.h"

namespace nudge::serve {

class Retrainer {
 public:
  // One served model per arm (EngineOptions::arms); arm 0 is the main model.
  struct Arm {
    std::string name;
    std::string dir;   // where its model file and version live
    std::string spec;  // what retrains fit; arm 0: empty for the default (set at open)
    std::atomic<std::shared_ptr<const ServingModel>> model;
    std::string model_path() const { return dir + "/model.nudge"; }
    std::string version_path() const { return dir + "/model.version"; }
  };
  using Listener = std::function<void(uint64_t version, const std::string& path)>;
  using Done = std::function<void(const Status&)>;

  // What a retrain reads: the tables the engine's writers fill. They must outlive it.
  Retrainer(const EngineOptions& options, Guarded<Catalogue, LockRank::kTable>& catalogue, const UserTable& users,
            const TrainingLog& log);
  ~Retrainer();  // stop()
  Retrainer(const Retrainer&) = delete;
  Retrainer& operator=(const Retrainer&) = delete;

  // The arms of options.arms (one "main" arm without them), their names and specs checked and
  // their directories made. Called once, before anything else.
  Status make_arms();
  size_t num_arms() const { return arms_.size(); }
  Arm& arm(size_t a) { return *arms_[a]; }
  const Arm& arm(size_t a) const { return *arms_[a]; }
  std::shared_ptr<const ServingModel> model(size_t a) const { return arms_[a]->model.load(); }

  // Loads arm `a`'s saved model (model.nudge, numbered by model.version) into its slot.
  Status load_saved_model(size_t a);
  // Retrains every arm now, on this thread; an arm that fails keeps its model and does not
  // stop the others (the first failure is returned). Too few events: nothing happens.
  Status retrain();
  // Serves the model file at `path` as the main model, numbered `version` (cluster.h).
  Status install(const std::string& path, uint64_t version);

  // The background thread: retrains when options' count or schedule says so, or on request.
  void start();
  // Ends the thread; requests not yet run are answered "server is shutting down". Idempotent.
  void stop();
  // Retrains on the thread and calls `done` with the result (at once, if stopping).
  void request(Done done);
  // Pauses retrains by count and schedule while at least one hold is held.
  void hold() { ++holds_; }
  void release() { --holds_; }
  // Counts events applied since the last retrain (the count trigger).
  void count_events(uint64_t n) { events_since_train_.fetch_add(n); }
  void reset_event_count() { events_since_train_ = 0; }
  // Replaces the listener (null: none); it runs on the retrain thread, with kRetrain held.
  void set_listener(Listener listener);

  uint64_t retrains() const { return retrains_.load(); }
  uint64_t failures() const { return failures_.load(); }

 private:
  struct Snapshot {
    Dataset dataset;
    std::vector<ItemRecord> features;  // per catalogue item, as last PUT
    bool described = false;            // some item has features
  };
  // The log and the tables as they are now; nullopt when the log has too few events.
  std::optional<Snapshot> take_snapshot() const;
  Status retrain_arm(size_t a, const Snapshot& snapshot);
  // The spec the next retrain fits: the arm's, else the default for these items.
  std::string spec_to_train(size_t a, bool items_have_features) const;
  // The version of an arm's saved model (model.version), 1 when there is none.
  uint64_t read_saved_version(const Arm& arm) const;
  void run();
  bool due(std::chrono::steady_clock::time_point last) const;
  void retrain_for(std::vector<Done> requests);

  const EngineOptions& options_;
  Guarded<Catalogue, LockRank::kTable>& catalogue_;
  const UserTable& users_;
  const TrainingLog& log_;

  std::vector<std::unique_ptr<Arm>> arms_;  // at most Experiment::kMaxArms
  RankedMutex<LockRank::kRetrain> retrain_mutex_;
  std::atomic<uint64_t> next_version_{1};
  std::atomic<uint64_t> events_since_train_{0};
  std::atomic<uint64_t> retrains_{0}, failures_{0};
  std::atomic<int> holds_{0};
  RankedMutex<LockRank::kListener> listener_mutex_;
  Listener listener_;  // guarded by listener_mutex_

  RankedMutex<LockRank::kSignal> wake_mutex_;
  std::condition_variable_any wake_;
  bool stopping_ = false;       // guarded by wake_mutex_
  std::vector<Done> requests_;  // guarded by wake_mutex_
  std::thread thread_;
};

}  // namespace nudge::serve
