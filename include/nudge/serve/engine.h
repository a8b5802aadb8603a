// Engine: everything `nudge serve` does behind its HTTP API, usable (and tested) without it.
//
//   ingest      events -> EventStore (group commit, durable) -> apply to the online state
//               (user history, decayed item popularity, the training log) -> acknowledge.
//               An acknowledged event is in the user's next recommendation: the user's
//               vector is marked stale and re-folded from the history on the next request.
//   recommend   the served model scores the catalogue from the user's current history
//               (serving_model.h: iALS fold-in, exactly or through HNSW; any other kind
//               through its score_history), then business rules (request.h) pick the top k;
//               users with no history get trending items.
//   retrain     a background thread retrains the configured model (options.model.spec, any
//               registered kind or fusion) on the whole log every `retrain_interval_s` or
//               after `retrain_after_events` new events, then swaps the model pointer
//               atomically: requests in flight finish on the model they started with.
//
// Startup replays the store (items, users, events) and loads the last saved model
// (<data_dir>/model.nudge), so a restart -- even after kill -9 -- resumes where it stopped.
// `model_file` replaces that model with one trained offline (nudge train); its kind and
// parameters become what retrains fit unless a spec is set. A spec chosen either way is kept
// in <data_dir>/model.spec, so a restart without it goes on with the same kind.
// Thread-safety: every public method may be called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nudge/serve/options.h"
#include "nudge/serve/records.h"
#include "nudge/serve/request.h"
#include "nudge/serve/serving_model.h"

namespace nudge::serve {

// One model served side by side with others for an online experiment (experiment.h).
struct ArmOptions {
  std::string name;  // 1..64 of [A-Za-z0-9_.-]
  std::string spec;  // what it trains (registry spec); the first arm's must be empty: it serves `model`
};

struct EngineOptions {
  std::string data_dir;
  EventStoreOptions store;
  ServingModelOptions model;
  std::string model_file;                  // serve this model file (copied into data_dir)
  std::string event_weights;               // "view=1,purchase=8"; empty: the defaults
  double trending_half_life_hours = 24.0;  // decay of the popularity counters
  double trending_refresh_s = 1.0;         // the trending ranking (cold start) is re-sorted at most this often
  int64_t retrain_interval_s = 3600;       // 0: no scheduled retrain
  int64_t retrain_after_events = 100000;   // 0: not triggered by event count
  int64_t retrain_min_events = 1;          // fewer events than this: no model (trending only)
  bool train_on_start = true;              // train at startup when the store has no model file
  // Empty: one model. Otherwise arm 0 serves the main model (spec, file and paths as without
  // arms) and each further arm its own spec, kept in <data_dir>/arms/<name>/; every retrain
  // fits them all on the same log, and each has its own fold-in state per user.
  std::vector<ArmOptions> arms;
};

struct ArmStats {
  std::string name;
  std::string spec;
  uint64_t model_version = 0;  // 0: no model yet
};

struct EngineStats {
  uint64_t events = 0;   // in the store
  uint64_t commits = 0;  // group commits (WriteBatches)
  uint64_t users = 0;
  uint64_t items = 0;
  uint64_t model_version = 0;                                 // 0: no model yet
  std::string model_kind;                                     // "ials", "fusion", ...; empty without a model
  std::string model_spec;                                     // the served model's spec (name and parameters)
  std::vector<std::pair<std::string, float>> fusion_weights;  // per component, weighted fusion
  std::string model_note;  // empty, or why the served fusion is untuned (too few validation users)
  int64_t model_trained_at = 0;
  double last_train_seconds = 0;
  uint64_t retrains = 0;
  uint64_t retrain_failures = 0;
  uint64_t records_skipped = 0;  // stored records skipped at startup (invalid or undecodable)
  uint64_t damaged_events = 0;   // events left out of a damaged log (--skip-damaged-log)
  StoreHealth store;             // whether the store takes writes (a full disk: not until space returns)
  std::vector<ArmStats> arms;    // with EngineOptions::arms: every arm, the main one first
};

struct UserInfo {
  std::string id;
  std::vector<std::pair<std::string, float>> history;  // item, summed implicit weight
  std::vector<std::string> recent;                     // items of positive events, newest first, distinct
  std::vector<Event> events;                           // the last few events (up to 8), newest first
  std::string attributes_json;                         // "{}" when never set
};

// An item as the catalogue knows it, for lookups and the console's item search.
struct ItemInfo {
  ItemRecord record;       // as last PUT (an item only seen in events: its ID alone)
  double popularity = 0;   // decayed event weight now (the trending score; half-life trending_half_life_hours)
  bool described = false;  // has a category, tags or a price
};

// Items whose ID contains `text` (empty: any) and which carry `category` and `tag` when given.
struct ItemQuery {
  std::string text, category, tag;
  size_t limit = 50;  // at most this many returned, most popular first
};

class Engine {
 public:
  static constexpr size_t kMaxUserAttributesBytes = 64 * 1024;  // a user's attributes JSON

  static Result<std::unique_ptr<Engine>> open(const EngineOptions& options);
  ~Engine();  // stops the retrain thread, drains the store
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Checks events (ids, value, timestamp), without storing them: IDs are 1..256 bytes of
  // UTF-8, values finite in [0, 1e9], timestamps 1970..9999. An error is InvalidArgument
  // naming the field with the event's index ("events[3].value").
  static Status validate(const std::vector<Event>& events);
  // One event; `at` prefixes the field ("events[3].").
  static Status validate_event(const Event& event, const std::string& at);
  // An item's ID, category and tags (UTF-8 IDs, at most 1000 tags) and price (finite, |p| <= 1e9).
  static Status validate_item(const ItemRecord& item);
  // A user's ID, and attributes of at most 64 KiB of UTF-8.
  static Status validate_user(const UserRecord& user);
  // Stores and applies validated events; `done` runs once they are durable and visible.
  void ingest_async(std::vector<Event> events, std::function<void(const Status&)> done);
  Status ingest(std::vector<Event> events);
  // The same for events taken from an external log (kafka_source.h): `positions` are stored in
  // the same write as the events, so the log is resumed exactly where the store stopped.
  void ingest_async(std::vector<Event> events, std::vector<StreamPosition> positions,
                    std::function<void(const Status&)> done);
  // The position stored for `stream` (EventStore::stream_position); -1 when none.
  Result<int64_t> stream_position(const std::string& stream) const;

  // Errors name the request field: NotFound for an unknown pinned or similar item,
  // InvalidArgument for bad rule values or an arm out of range. Similar items come from the main model.
  Result<RecommendResponse> recommend(const RecommendRequest& request) const;
  Result<RecommendResponse> similar(const SimilarRequest& request) const;

  Status put_item(ItemRecord item);
  // Hides the item from every result; NotFound when it was never seen.
  Status hide_item(const std::string& id);
  Status put_user(UserRecord user);
  std::optional<UserInfo> user_info(const std::string& id) const;
  // One item (nullopt: unknown), and a search of the catalogue: the matches most popular
  // first, at most query.limit of them; *matched (if given) counts them all.
  std::optional<ItemInfo> item_info(const std::string& id) const;
  std::vector<ItemInfo> find_items(const ItemQuery& query, size_t* matched = nullptr) const;

  // Retrains now on the whole log and swaps the model in (blocking).
  Status retrain();
  // Asks the background thread to retrain now; `done` runs there once the new model serves
  // (or with an error if training failed or the engine is closing).
  void request_retrain(std::function<void(const Status&)> done);
  struct State;
  // While one lives, the background thread starts no retrain by event count or schedule
  // (explicit requests still run): a bulk load trains once at its end, not on a partial log.
  class RetrainHold {
   public:
    explicit RetrainHold(State* s);
    ~RetrainHold();
    RetrainHold(RetrainHold&& o) noexcept : state_(std::exchange(o.state_, nullptr)) {}
    RetrainHold(const RetrainHold&) = delete;
    RetrainHold& operator=(const RetrainHold&) = delete;
    RetrainHold& operator=(RetrainHold&&) = delete;

   private:
    State* state_;
  };
  [[nodiscard]] RetrainHold hold_retrains();
  // Writes what the store holds only in its log to its tables (after a bulk import: a damaged
  // log then costs nothing that was imported).
  Status flush_store();

  // Serves the model file at `path` as `version` (a model another replica trained, cluster.h):
  // read whole and checked first, so a damaged file never replaces the serving model; then
  // kept in the data directory like a trained one and swapped in.
  Status install_model(const std::string& path, uint64_t version);
  // Runs on the retrain thread after each trained model is saved, with its version and the
  // saved file's path (which the next retrain replaces). Replaces any earlier listener.
  void set_model_listener(std::function<void(uint64_t version, const std::string& path)> listener);

  EngineStats stats() const;
  // The model an arm serves (null before the first); arm 0 is the main model.
  std::shared_ptr<const ServingModel> model(size_t arm = 0) const;
  // The arms' names (EngineOptions::arms); one "main" without arms.
  std::vector<std::string> arm_names() const;

 private:
  Engine();
  std::unique_ptr<State> state_;
};

}  // namespace nudge::serve
