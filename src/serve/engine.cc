#include "nudge/serve/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>

#include "common/atomic_file.h"
#include "nudge/dataset.h"
#include "nudge/fusion.h"
#include "nudge/input_limits.h"
#include "nudge/log.h"
#include "nudge/model_file.h"
#include "nudge/registry.h"
#include "nudge/serve/experiment.h"
#include "nudge/serve/user_attributes.h"
#include "serve/engine_state.h"
#include "serve/record_codec.h"

namespace nudge::serve {
namespace {

int64_t now_seconds() { return static_cast<int64_t>(std::time(nullptr)); }

double log_add(double a, double b) {
  if (a < b) std::swap(a, b);
  if (std::isinf(b)) return a;
  return a + std::log1p(std::exp(b - a));
}

Status check_id(std::string_view id, const std::string& field) {
  if (id.empty()) return Status::invalid_field(field, "must be a non-empty string");
  if (auto why = id_problem(id)) return Status::invalid_field(field, *why);
  return Status::ok();
}

constexpr size_t kMaxTagsPerItem = 1000;
constexpr size_t kMaxRecIdBytes = 64;
// At startup: skipped stored records logged one by one before only the count is kept, and
// events replayed per apply() batch (one catalogue lock per batch, not per event).
constexpr uint64_t kSkippedRecordsLogged = 10;
constexpr size_t kReplayBatch = 65536;

// Runs on the retrainer thread: a caller's callback that throws is logged, never lets the
// exception end the thread (and the process).
void answer_retrain_request(const std::function<void(const Status&)>& done, const Status& status) {
  try {
    done(status);
  } catch (const std::exception& e) {
    spdlog::error("serve: a retrain callback failed: {}", e.what());
  }
}

}  // namespace

uint32_t Catalogue::intern_item(std::string_view id) {
  const uint32_t index = items.intern(id);
  if (index == item_states.size()) {
    item_states.emplace_back();
    item_states.back().record.id = std::string(id);
  }
  return index;
}

UserState* UserTable::intern(std::string_view id) {
  std::unique_lock lock(mutex_);
  const uint32_t index = ids_.intern(id);
  if (index == states_.size()) states_.push_back(std::make_unique<UserState>());
  return states_[index].get();
}

void UserTable::intern(const std::vector<Event>& events, std::vector<uint32_t>* indices,
                       std::vector<UserState*>* states) {
  indices->resize(events.size());
  states->resize(events.size());
  std::unique_lock lock(mutex_);
  for (size_t k = 0; k < events.size(); ++k) {
    const uint32_t index = (*indices)[k] = ids_.intern(events[k].user);
    if (index == states_.size()) states_.push_back(std::make_unique<UserState>());
    (*states)[k] = states_[index].get();
  }
}

UserState* UserTable::find(std::string_view id) const {
  std::shared_lock lock(mutex_);
  auto index = ids_.find(id);
  return index ? states_[*index].get() : nullptr;
}

size_t UserTable::size() const {
  std::shared_lock lock(mutex_);
  return ids_.size();
}

IdMap UserTable::ids(std::vector<FeatureDescription>* attributes) const {
  std::shared_lock lock(mutex_);
  if (attributes) {
    attributes->clear();
    attributes->reserve(states_.size());
    for (const auto& state : states_) attributes->push_back(*state->read()->description);
  }
  return ids_;
}

void UserData::add(uint32_t item, float weight) {
  auto it = std::lower_bound(items.begin(), items.end(), item);
  const size_t at = static_cast<size_t>(it - items.begin());
  if (it == items.end() || *it != item) {
    items.insert(it, item);
    weights.insert(weights.begin() + static_cast<std::ptrdiff_t>(at), 0.f);
  }
  weights[at] += weight;
  for (Folded& f : folded) f.version = 0;
  if (weight <= 0) return;
  // Move (or push) the item to the front, dropping the oldest beyond the cap.
  auto seen = std::find(recent.begin(), recent.end(), item);
  if (seen == recent.end()) {
    if (recent.size() < kRecentItems) recent.push_back(item);
    seen = recent.end() - 1;
  }
  std::rotate(recent.begin(), seen, seen + 1);
  recent.front() = item;  // when full, the oldest was rotated to the front: replaced
}

void UserData::set_attributes(std::string json) {
  description = std::make_shared<const FeatureDescription>(describe_user(json));
  attributes = std::move(json);
}

void TrainingLog::append(const std::vector<Event>& events, const std::vector<uint32_t>& users,
                         const std::vector<uint32_t>& items, const std::vector<EventType>& types) {
  std::lock_guard lock(mutex_);
  for (size_t k = 0; k < events.size(); ++k)
    log_.push_back(users[k], items[k], types[k], events[k].value, events[k].timestamp);
}

Interactions TrainingLog::copy() const {
  std::lock_guard lock(mutex_);
  return log_;
}

size_t TrainingLog::size() const {
  std::lock_guard lock(mutex_);
  return log_.size();
}

void Catalogue::set_record(uint32_t item, ItemRecord record) {
  auto drop = [item](std::unordered_map<std::string, std::vector<uint32_t>>& index, const std::string& key) {
    auto it = index.find(key);
    if (it == index.end()) return;
    auto& list = it->second;
    list.erase(std::remove(list.begin(), list.end(), item), list.end());
    if (list.empty()) index.erase(it);
  };
  auto add = [item](std::unordered_map<std::string, std::vector<uint32_t>>& index, const std::string& key) {
    auto& list = index[key];
    auto at = std::lower_bound(list.begin(), list.end(), item);
    if (at == list.end() || *at != item) list.insert(at, item);
  };
  ItemRecord& r = item_states[item].record;
  if (!r.category.empty()) drop(items_by_category, r.category);
  for (const auto& tag : r.tags) drop(items_by_tag, tag);
  auto hidden_at = std::lower_bound(hidden_items.begin(), hidden_items.end(), item);
  const bool listed = hidden_at != hidden_items.end() && *hidden_at == item;
  if (record.hidden && !listed) hidden_items.insert(hidden_at, item);
  if (!record.hidden && listed) hidden_items.erase(hidden_at);
  r = std::move(record);
  if (!r.category.empty()) add(items_by_category, r.category);
  for (const auto& tag : r.tags) add(items_by_tag, tag);
}

void Catalogue::refresh_cold(uint32_t item, size_t arm, const ServingModel* m) {
  ItemState& s = item_states[item];
  ColdView& view = cold[arm];
  // Described after the model was built: the factor path's mean feature vector, or the
  // history path model's own feature view.
  const bool factor_cold = m && m->factor_model() && !m->has_vector(item);
  Eigen::VectorXf vector = factor_cold ? m->feature_vector(s.record) : Eigen::VectorXf();
  const bool described =
      m && m->describes_new_items() && m->row_of(item) == kNoIndex && describe_item(s.record, &s.description);
  const bool is_cold = vector.size() > 0 || described;
  if (is_cold) view[item] = std::move(vector);
  else view.erase(item);
}

void Engine::State::apply(const std::vector<Event>& events) {
  const size_t n = events.size();
  std::vector<uint32_t> item_index(n), user_index;
  std::vector<float> weight(n);
  std::vector<EventType> type(n);
  {
    auto cat = catalogue.write();
    for (size_t k = 0; k < n; ++k) {
      const Event& e = events[k];
      item_index[k] = cat->intern_item(e.item);
      auto t = cat->event_types.intern(e.type);
      type[k] = t.is_ok() ? t.value() : EventType{0};  // validate() keeps the table from filling
      weight[k] = cat->event_types.weight(type[k]) * e.value;
      if (weight[k] > 0) {
        double& trend = cat->item_states[item_index[k]].log_trend;
        trend = log_add(trend,
                        std::log(static_cast<double>(weight[k])) + cat->trend_rate * static_cast<double>(e.timestamp));
      }
    }
    cat->trend_updates.fetch_add(1);
  }
  std::vector<UserState*> states;
  users.intern(events, &user_index, &states);
  log.append(events, user_index, item_index, type);
  for (size_t k = 0; k < n; ++k) states[k]->write()->add(item_index[k], weight[k]);
  events_since_train.fetch_add(n);
}

Engine::Engine() : state_(std::make_unique<State>()) {}

Engine::~Engine() {
  {
    std::lock_guard lock(state_->wake_mutex);
    state_->stopping = true;
  }
  state_->wake.notify_all();
  if (state_->retrainer.joinable()) state_->retrainer.join();
  state_->store.reset();  // drains queued appends
}

Result<std::unique_ptr<Engine>> Engine::open(const EngineOptions& options) {
  std::unique_ptr<Engine> engine(new Engine());
  State& s = *engine->state_;
  s.options = options;
  if (options.trending_half_life_hours <= 0) return Status::invalid_argument("trending half-life must be > 0 hours");
  if (!(options.trending_refresh_s >= 0)) return Status::invalid_argument("trending refresh must be >= 0 seconds");
  {
    auto cat = s.catalogue.write();
    cat->trend_rate = std::log(2.0) / (options.trending_half_life_hours * 3600.0);
    cat->trending_refresh_s = options.trending_refresh_s;
    if (!options.event_weights.empty()) NUDGE_RETURN_IF_ERROR(cat->event_types.parse_weights(options.event_weights));
  }
  NUDGE_RETURN_IF_ERROR(s.make_arms());
  NUDGE_ASSIGN_OR_RETURN(s.store, EventStore::open(options.data_dir + "/events", options.store));

  // Replay: item features, user attributes, then every event in order. A record the API
  // would refuse today (stored by an older build, or damaged) is reported and skipped: one
  // bad record must not stop the server from starting.
  uint64_t skipped = 0;
  auto skip = [&](std::string_view kind, std::string_view id, const Status& e) {
    if (++skipped <= kSkippedRecordsLogged)
      spdlog::warn("serve: skipping stored {} '{}': {}: {}", kind, printable_key(id), e.field(), e.message());
  };
  NUDGE_RETURN_IF_ERROR(s.store->scan_items([&](ItemRecord&& item) {
    if (Status e = validate_item(item); !e.is_ok()) return skip("item", item.id, e);
    auto cat = s.catalogue.write();
    const uint32_t index = cat->intern_item(item.id);
    cat->set_record(index, std::move(item));
  }));
  NUDGE_RETURN_IF_ERROR(s.store->scan_users([&](UserRecord&& user) {
    if (Status e = validate_user(user); !e.is_ok()) return skip("user", user.id, e);
    s.users.intern(user.id)->write()->set_attributes(std::move(user.attributes_json));
  }));
  std::vector<Event> batch;
  auto flush = [&] {
    s.apply(batch);
    batch.clear();
  };
  NUDGE_RETURN_IF_ERROR(s.store->scan_events([&](uint64_t, Event&& e) {
    if (Status err = validate_event(e, "event."); !err.is_ok()) return skip("event of user", e.user, err);
    batch.push_back(std::move(e));
    if (batch.size() == kReplayBatch) flush();
  }));
  flush();
  skipped += s.store->records_skipped();
  if (skipped > 0) spdlog::warn("serve: skipped {} stored records that are invalid or do not decode", skipped);
  s.records_skipped = skipped;
  const size_t num_users = s.users.size(), num_items = s.catalogue.read()->items.size();
  spdlog::info("serve: replayed {} events, {} users, {} items from {}", s.store->num_events(), num_users, num_items,
               options.data_dir);

  // What retrains fit: the configured spec, else the offline model's, else what this data
  // directory was last told (model.spec), else the default. A chosen one is kept there so a
  // restart without the flag goes on with the same kind.
  State::Arm& main = *s.arms[0];
  main.spec = options.model.spec;
  if (!options.model_file.empty()) {
    // An offline model replaces the saved one; its kind is what later retrains fit. It is
    // read whole first, so a damaged file never replaces a good saved model.
    NUDGE_ASSIGN_OR_RETURN(LoadedModel offline, load_model(options.model_file));
    if (main.spec.empty()) main.spec = spec_of(*offline.model);
    NUDGE_RETURN_IF_ERROR(copy_file_atomically(options.model_file, main.model_path()));
  } else if (main.spec.empty() && std::filesystem::exists(s.spec_path())) {
    std::ifstream in(s.spec_path());
    std::getline(in, main.spec);
  }
  if (!main.spec.empty()) {
    // A bad spec fails at startup, not at the first retrain an hour later.
    auto check = make_recommender_from_spec(main.spec);
    if (!check.is_ok()) return Status::invalid_argument("model spec '" + main.spec + "': " + check.status().message());
    NUDGE_RETURN_IF_ERROR(write_file_atomically(s.spec_path(), {main.spec + "\n"}));
  }
  bool all_loaded = true;
  for (size_t a = 0; a < s.arms.size(); ++a) {
    if (std::filesystem::exists(s.arms[a]->model_path())) NUDGE_RETURN_IF_ERROR(s.load_saved_model(a));
    else all_loaded = false;
  }
  if (!all_loaded && options.train_on_start &&
      s.log.size() >= static_cast<size_t>(std::max<int64_t>(options.retrain_min_events, 1)))
    NUDGE_RETURN_IF_ERROR(s.retrain());
  s.events_since_train = 0;
  s.retrainer = std::thread([&s] { s.retrain_loop(); });
  return engine;
}

Status Engine::State::make_arms() {
  std::vector<ArmOptions> wanted = options.arms;
  if (wanted.empty()) wanted.push_back({"main", ""});
  if (wanted.size() > Experiment::kMaxArms)
    return Status::invalid_field("arms", "at most " + std::to_string(Experiment::kMaxArms) + " arms");
  if (!wanted[0].spec.empty())
    return Status::invalid_field("arms[0].spec", "the first arm serves the main model ([model]); give it no spec");
  for (size_t a = 0; a < wanted.size(); ++a) {
    const std::string field = "arms[" + std::to_string(a) + "]";
    NUDGE_RETURN_IF_ERROR(check_experiment_name(wanted[a].name, field + ".name"));
    for (size_t b = 0; b < a; ++b)
      if (wanted[b].name == wanted[a].name) return Status::invalid_field(field + ".name", "used twice");
    if (a > 0) {
      if (wanted[a].spec.empty()) return Status::invalid_field(field + ".spec", "required");
      if (auto m = make_recommender_from_spec(wanted[a].spec); !m.is_ok())
        return Status::invalid_field(field + ".spec", m.status().message());
    }
    auto arm = std::make_unique<Arm>();
    arm->name = wanted[a].name;
    arm->spec = wanted[a].spec;
    arm->dir = a == 0 ? options.data_dir : options.data_dir + "/arms/" + arm->name;
    std::error_code ec;
    std::filesystem::create_directories(arm->dir, ec);
    if (ec) return Status::io_error("cannot create data directory " + arm->dir + ": " + ec.message());
    arms.push_back(std::move(arm));
  }
  catalogue.write()->cold.resize(arms.size());
  return Status::ok();
}

uint64_t Engine::State::read_saved_version(const Arm& arm) const {
  std::ifstream in(arm.version_path());
  std::string text;
  uint64_t version = 0;
  // Digits only: ">>" into an unsigned reads "-5" as 2^64 - 5.
  const bool digits = static_cast<bool>(in >> text) && !text.empty() && text.size() <= 19 &&
                      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits) version = std::stoull(text);
  if (!digits || version == 0) {
    if (std::filesystem::exists(arm.version_path())) spdlog::warn("serve: ignoring unreadable {}", arm.version_path());
    return 1;
  }
  return version;
}

Status Engine::State::load_saved_model(size_t a) {
  Arm& arm = *arms[a];
  const std::string model_path = arm.model_path();
  NUDGE_ASSIGN_OR_RETURN(LoadedModel loaded, load_model(model_path));
  // The model's rows keep their order; map them onto today's catalogue by ID.
  const uint32_t rows = loaded.model->num_items();
  if (loaded.items.size() != rows) return Status::corruption(model_path + ": item IDs do not match the model");
  std::vector<ItemRecord> features;
  std::vector<uint32_t> catalogue_index(rows);
  std::vector<bool> trained(rows, false);
  for (uint32_t i : loaded.history.indices) trained[i] = true;
  uint32_t num_items = 0;
  {
    auto cat = catalogue.write();
    for (uint32_t r = 0; r < rows; ++r) catalogue_index[r] = cat->intern_item(loaded.items.id_of(r));
    num_items = static_cast<uint32_t>(cat->items.size());
    for (const auto& st : cat->item_states) features.push_back(st.record);
  }
  // The version the model had when it was saved, so a restart does not renumber it.
  next_version = std::max<uint64_t>(next_version, read_saved_version(arm));
  auto m = ServingModel::build(std::move(loaded.model), std::move(catalogue_index), num_items, trained, features,
                               options.model, next_version++);
  auto cat = catalogue.write();
  arm.model.store(m);
  for (uint32_t i = 0; i < cat->items.size(); ++i) cat->refresh_cold(i, a, m.get());
  spdlog::info("serve: loaded model {} ({}, {} items)", model_path, m->spec(), rows);
  return Status::ok();
}

std::string Engine::State::spec_to_train(size_t arm, bool items_have_features) const {
  const std::string& spec = arms[arm]->spec;
  return spec.empty() ? default_model_spec(options.model, items_have_features) : spec;
}

Status Engine::State::retrain() {
  std::lock_guard one_at_a_time(retrain_mutex);
  // Counted before the copy: events arriving during training count towards the next one.
  const uint64_t pending_before = events_since_train.exchange(0);
  auto catalog = std::make_shared<Catalog>();
  std::vector<ItemRecord> features;
  Interactions data;
  // The log first, then the maps: apply() interns before it logs and the maps only grow, so
  // every index in the copied log is below the copied maps' sizes.
  data = log.copy();  // events after this point wait for the next retrain
  {
    auto cat = catalogue.read();
    catalog->items = cat->items;
    catalog->event_types = cat->event_types;
    features.reserve(cat->item_states.size());
    for (const auto& st : cat->item_states) features.push_back(st.record);
  }
  std::vector<FeatureDescription> attributes;
  catalog->users = users.ids(&attributes);
  if (data.size() < static_cast<size_t>(std::max<int64_t>(options.retrain_min_events, 1))) {
    events_since_train.fetch_add(pending_before);
    return Status::ok();
  }
  const bool described = std::any_of(features.begin(), features.end(), [](const ItemRecord& r) {
    return !r.category.empty() || !r.tags.empty() || !std::isnan(r.price);
  });
  if (described) catalog->item_features = item_feature_table(features);
  catalog->item_features.resize(static_cast<uint32_t>(catalog->items.size()));
  if (std::any_of(attributes.begin(), attributes.end(), [](const auto& a) { return !a.empty(); }))
    catalog->user_features = user_feature_table(attributes);
  catalog->user_features.resize(static_cast<uint32_t>(catalog->users.size()));
  Dataset dataset(catalog, std::move(data));
  // Every arm on the same log; one that fails keeps its model and does not stop the others.
  Status first_failure;
  for (size_t a = 0; a < arms.size(); ++a) {
    Status st = retrain_arm(a, dataset, features, described);
    if (!st.is_ok()) {
      ++retrain_failures;
      if (arms.size() > 1) spdlog::error("serve: arm {} failed to retrain: {}", arms[a]->name, st.to_string());
      if (first_failure.is_ok()) first_failure = st;
    }
  }
  if (!first_failure.is_ok()) return first_failure;
  ++retrains;
  return Status::ok();
}

Status Engine::State::retrain_arm(size_t a, const Dataset& dataset, const std::vector<ItemRecord>& features,
                                  bool described) {
  Arm& arm = *arms[a];
  NUDGE_ASSIGN_OR_RETURN(
      auto m, ServingModel::train(dataset, spec_to_train(a, described), features, options.model, next_version++));
  const Catalog& catalog = dataset.catalog();
  NUDGE_RETURN_IF_ERROR(
      save_model(m->recommender(), catalog.users, catalog.items, dataset.user_items(), arm.model_path()));
  // After the model: a crash in between leaves the previous number, never one for a model not saved.
  NUDGE_RETURN_IF_ERROR(write_file_atomically(arm.version_path(), {std::to_string(m->version()) + "\n"}));
  {
    auto cat = catalogue.write();
    arm.model.store(m);  // the swap: later requests see the new model, earlier ones keep theirs
    for (uint32_t i = 0; i < cat->items.size(); ++i) cat->refresh_cold(i, a, m.get());
  }
  spdlog::info("serve: model {} ({}) trained on {} events in {:.2f} s", m->version(), m->spec(),
               dataset.num_interactions(), m->train_seconds());
  if (a != 0) return Status::ok();
  std::lock_guard lock(listener_mutex);
  if (model_listener) model_listener(m->version(), arm.model_path());
  return Status::ok();
}

void Engine::State::retrain_loop() {
  auto last = std::chrono::steady_clock::now();
  std::unique_lock lock(wake_mutex);
  while (!stopping) {
    wake.wait_for(lock, std::chrono::seconds(1), [&] { return stopping || !retrain_requests.empty(); });
    if (stopping) break;
    const bool held = retrain_holds.load() > 0;
    const bool by_count = !held && options.retrain_after_events > 0 &&
                          events_since_train.load() >= static_cast<uint64_t>(options.retrain_after_events);
    const bool by_time = !held && options.retrain_interval_s > 0 && events_since_train.load() > 0 &&
                         std::chrono::steady_clock::now() - last >= std::chrono::seconds(options.retrain_interval_s);
    if (!by_count && !by_time && retrain_requests.empty()) continue;
    auto requests = std::move(retrain_requests);
    retrain_requests.clear();
    lock.unlock();
    // The thread's boundary: a failure in training or in a caller's callback is logged and
    // the loop goes on (an exception escaping a std::thread would end the process).
    Status st;
    try {
      st = retrain();
    } catch (const std::exception& e) {
      ++retrain_failures;
      st = Status::internal(std::string("retrain: ") + e.what());
    }
    if (!st.is_ok()) spdlog::error("serve: retrain failed: {}", st.to_string());
    for (auto& done : requests) answer_retrain_request(done, st);
    last = std::chrono::steady_clock::now();
    lock.lock();
  }
  for (auto& done : retrain_requests) answer_retrain_request(done, Status::io_error("server is shutting down"));
  retrain_requests.clear();
}

Engine::RetrainHold::RetrainHold(State* s) : state_(s) { ++state_->retrain_holds; }
Engine::RetrainHold::~RetrainHold() {
  if (state_) --state_->retrain_holds;
}

Engine::RetrainHold Engine::hold_retrains() { return RetrainHold(state_.get()); }

void Engine::set_model_listener(std::function<void(uint64_t, const std::string&)> listener) {
  std::lock_guard lock(state_->listener_mutex);
  state_->model_listener = std::move(listener);
}

Status Engine::install_model(const std::string& path, uint64_t version) {
  State& s = *state_;
  std::lock_guard one_at_a_time(s.retrain_mutex);
  NUDGE_RETURN_IF_ERROR(load_model(path).status());  // a damaged file is refused before anything changes
  const State::Arm& main = *s.arms[0];
  NUDGE_RETURN_IF_ERROR(copy_file_atomically(path, main.model_path()));
  NUDGE_RETURN_IF_ERROR(write_file_atomically(main.version_path(), {std::to_string(version) + "\n"}));
  s.next_version.store(version);  // the publisher's number, not this replica's next one
  return s.load_saved_model(0);
}

void Engine::request_retrain(std::function<void(const Status&)> done) {
  {
    std::lock_guard lock(state_->wake_mutex);
    if (!state_->stopping) {
      state_->retrain_requests.push_back(std::move(done));
      state_->wake.notify_all();
      return;
    }
  }
  done(Status::io_error("server is shutting down"));
}

Status Engine::validate_event(const Event& e, const std::string& at) {
  NUDGE_RETURN_IF_ERROR(check_id(e.user, at + "user"));
  NUDGE_RETURN_IF_ERROR(check_id(e.item, at + "item"));
  if (e.type.empty() || e.type.size() > kMaxEventTypeBytes)
    return Status::invalid_field(at + "type", "must be 1 to 64 bytes");
  if (auto why = text_problem(e.type, kMaxEventTypeBytes)) return Status::invalid_field(at + "type", *why);
  if (!std::isfinite(e.value) || e.value < 0)
    return Status::invalid_field(at + "value", "must be a finite number >= 0");
  if (auto why = value_problem(e.value)) return Status::invalid_field(at + "value", *why);
  if (timestamp_problem(e.timestamp))
    return Status::invalid_field(at + "timestamp", "must be seconds since the Unix epoch");
  if (auto why = text_problem(e.rec_id, kMaxRecIdBytes)) return Status::invalid_field(at + "rec_id", *why);
  return Status::ok();
}

Status Engine::validate(const std::vector<Event>& events) {
  for (size_t k = 0; k < events.size(); ++k)
    NUDGE_RETURN_IF_ERROR(validate_event(events[k], "events[" + std::to_string(k) + "]."));
  return Status::ok();
}

Status Engine::validate_item(const ItemRecord& item) {
  NUDGE_RETURN_IF_ERROR(check_id(item.id, "id"));
  if (!item.category.empty())
    if (auto why = id_problem(item.category)) return Status::invalid_field("category", *why);
  if (item.tags.size() > kMaxTagsPerItem)
    return Status::invalid_field("tags", "more than " + std::to_string(kMaxTagsPerItem) + " tags");
  for (size_t k = 0; k < item.tags.size(); ++k)
    if (auto why = id_problem(item.tags[k])) return Status::invalid_field("tags[" + std::to_string(k) + "]", *why);
  if (!std::isnan(item.price))
    if (auto why = value_problem(item.price)) return Status::invalid_field("price", *why);
  return Status::ok();
}

Status Engine::validate_user(const UserRecord& user) {
  NUDGE_RETURN_IF_ERROR(check_id(user.id, "id"));
  if (auto why = text_problem(user.attributes_json, Engine::kMaxUserAttributesBytes))
    return Status::invalid_field("body", *why);
  return Status::ok();
}

void Engine::ingest_async(std::vector<Event> events, std::function<void(const Status&)> done) {
  ingest_async(std::move(events), {}, std::move(done));
}

Result<int64_t> Engine::stream_position(const std::string& stream) const {
  return state_->store->stream_position(stream);
}

void Engine::ingest_async(std::vector<Event> events, std::vector<StreamPosition> positions,
                          std::function<void(const Status&)> done) {
  const int64_t now = now_seconds();
  for (Event& e : events)
    if (e.timestamp == 0) e.timestamp = now;
  {
    // Event types are a small table (255); refuse new names once it is full.
    auto cat = state_->catalogue.read();
    for (const Event& e : events)
      if (!cat->event_types.find(e.type) && cat->event_types.size() >= EventTypes::kMaxTypes) {
        done(Status::invalid_argument("too many event types; '" + e.type + "' is not one of them"));
        return;
      }
  }
  auto shared = std::make_shared<std::vector<Event>>(events);
  State* s = state_.get();
  s->store->append_async(
      std::move(events),
      [s, shared, done = std::move(done)](const Status& st, uint64_t) {
        if (st.is_ok()) s->apply(*shared);  // visible before the acknowledgement
        done(st);
      },
      std::move(positions));
}

Status Engine::ingest(std::vector<Event> events) {
  NUDGE_RETURN_IF_ERROR(validate(events));
  std::promise<Status> result;
  ingest_async(std::move(events), [&](const Status& st) { result.set_value(st); });
  return result.get_future().get();
}

Status Engine::put_item(ItemRecord item) {
  NUDGE_RETURN_IF_ERROR(validate_item(item));
  // Storing first: a failed write changes nothing in memory.
  NUDGE_RETURN_IF_ERROR(state_->store->put_item(item));
  std::vector<std::shared_ptr<const ServingModel>> models;
  for (const auto& arm : state_->arms) models.push_back(arm->model.load());
  auto cat = state_->catalogue.write();
  const uint32_t index = cat->intern_item(item.id);
  cat->set_record(index, std::move(item));
  for (size_t a = 0; a < models.size(); ++a) cat->refresh_cold(index, a, models[a].get());
  return Status::ok();
}

Status Engine::hide_item(const std::string& id) {
  ItemRecord record;
  {
    auto cat = state_->catalogue.read();
    auto index = cat->items.find(id);
    if (!index) return Status::not_found("unknown item '" + id + "'").with_field("id");
    record = cat->item_states[*index].record;
  }
  record.hidden = true;
  return put_item(std::move(record));
}

Status Engine::put_user(UserRecord user) {
  NUDGE_RETURN_IF_ERROR(validate_user(user));
  NUDGE_RETURN_IF_ERROR(state_->store->put_user(user));
  state_->users.intern(user.id)->write()->set_attributes(std::move(user.attributes_json));
  return Status::ok();
}

std::optional<UserInfo> Engine::user_info(const std::string& id) const {
  UserState* u = state_->users.find(id);
  if (!u) return std::nullopt;
  UserInfo info;
  info.id = id;
  std::vector<uint32_t> items;
  std::vector<float> weights;
  {
    auto user = u->read();
    items = user->items;
    weights = user->weights;
    info.attributes_json = user->attributes;
  }
  auto cat = state_->catalogue.read();
  for (size_t k = 0; k < items.size(); ++k) info.history.emplace_back(cat->items.id_of(items[k]), weights[k]);
  return info;
}

Status Engine::retrain() { return state_->retrain(); }

Status Engine::flush_store() { return state_->store->flush(); }

std::shared_ptr<const ServingModel> Engine::model(size_t arm) const {
  NUDGE_CHECK(arm < state_->arms.size(), "no such arm");
  return state_->arms[arm]->model.load();
}

std::vector<std::string> Engine::arm_names() const {
  std::vector<std::string> names;
  for (const auto& arm : state_->arms) names.push_back(arm->name);
  return names;
}

EngineStats Engine::stats() const {
  EngineStats st;
  st.events = state_->store->num_events();
  st.commits = state_->store->num_commits();
  st.users = state_->users.size();
  st.items = state_->catalogue.read()->items.size();
  if (auto m = model()) {
    st.model_version = m->version();
    st.model_trained_at = m->trained_at();
    st.last_train_seconds = m->train_seconds();
    st.model_kind = std::string(m->kind());
    st.model_spec = m->spec();
    if (const auto* fusion = dynamic_cast<const FusionModel*>(&m->recommender())) {
      st.model_note = fusion->untuned_reason();
      if (fusion->options().method == "weighted")
        for (size_t k = 0; k < fusion->weights().size(); ++k)
          st.fusion_weights.emplace_back(fusion->options().models[k], fusion->weights()[k]);
    }
  }
  st.retrains = state_->retrains.load();
  st.retrain_failures = state_->retrain_failures.load();
  st.records_skipped = state_->records_skipped;
  st.damaged_events = state_->store->damaged_events();
  st.store = state_->store->health();
  if (!state_->options.arms.empty())
    for (const auto& arm : state_->arms) {
      auto m = arm->model.load();
      st.arms.push_back({arm->name, m ? m->spec() : arm->spec, m ? m->version() : 0});
    }
  return st;
}

}  // namespace nudge::serve
