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

}  // namespace

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
  for (size_t k = 0; k < n; ++k) {
    auto user = states[k]->write();
    user->add(item_index[k], weight[k]);
    user->remember({events[k].timestamp, item_index[k], events[k].value, type[k]});
  }
  retrainer.count_events(n);
}

Engine::Engine() : state_(std::make_unique<State>()) {}

Engine::~Engine() {
  state_->retrainer.stop();
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
  NUDGE_RETURN_IF_ERROR(s.retrainer.make_arms());
  NUDGE_ASSIGN_OR_RETURN(s.store, EventStore::open(options.data_dir + "/events", options.store));

  NUDGE_RETURN_IF_ERROR(s.replay_store());
  NUDGE_RETURN_IF_ERROR(s.choose_main_spec());
  NUDGE_RETURN_IF_ERROR(s.load_or_train_models());
  s.retrainer.reset_event_count();
  s.retrainer.start();
  return engine;
}

// Item features, user attributes, then every event in order. A record the API would refuse
// today (stored by an older build, or damaged) is reported and skipped: one bad record must
// not stop the server from starting.
Status Engine::State::replay_store() {
  uint64_t skipped = 0;
  auto skip = [&](std::string_view kind, std::string_view id, const Status& e) {
    if (++skipped <= kSkippedRecordsLogged)
      spdlog::warn("serve: skipping stored {} '{}': {}: {}", kind, printable_key(id), e.field(), e.message());
  };
  NUDGE_RETURN_IF_ERROR(store->scan_items([&](ItemRecord&& item) {
    if (Status e = validate_item(item); !e.is_ok()) return skip("item", item.id, e);
    auto cat = catalogue.write();
    const uint32_t index = cat->intern_item(item.id);
    cat->set_record(index, std::move(item));
  }));
  NUDGE_RETURN_IF_ERROR(store->scan_users([&](UserRecord&& user) {
    if (Status e = validate_user(user); !e.is_ok()) return skip("user", user.id, e);
    users.intern(user.id)->write()->set_attributes(std::move(user.attributes_json));
  }));
  std::vector<Event> batch;
  auto flush = [&] {
    apply(batch);
    batch.clear();
  };
  NUDGE_RETURN_IF_ERROR(store->scan_events([&](uint64_t, Event&& e) {
    if (Status err = validate_event(e, "event."); !err.is_ok()) return skip("event of user", e.user, err);
    batch.push_back(std::move(e));
    if (batch.size() == kReplayBatch) flush();
  }));
  flush();
  skipped += store->records_skipped();
  if (skipped > 0) spdlog::warn("serve: skipped {} stored records that are invalid or do not decode", skipped);
  records_skipped = skipped;
  const size_t num_users = users.size(), num_items = catalogue.read()->items.size();
  spdlog::info("serve: replayed {} events, {} users, {} items from {}", store->num_events(), num_users, num_items,
               options.data_dir);
  return Status::ok();
}

// What retrains fit: the configured spec, else the offline model's, else what this data
// directory was last told (model.spec), else the default. A chosen one is kept there so a
// restart without the flag goes on with the same kind.
Status Engine::State::choose_main_spec() {
  Retrainer::Arm& main = retrainer.arm(0);
  main.spec = options.model.spec;
  if (!options.model_file.empty()) {
    // An offline model replaces the saved one; its kind is what later retrains fit. It is
    // read whole first, so a damaged file never replaces a good saved model.
    NUDGE_ASSIGN_OR_RETURN(LoadedModel offline, load_model(options.model_file));
    if (main.spec.empty()) main.spec = spec_of(*offline.model);
    NUDGE_RETURN_IF_ERROR(copy_file_atomically(options.model_file, main.model_path()));
  } else if (main.spec.empty() && std::filesystem::exists(spec_path())) {
    std::ifstream in(spec_path());
    std::getline(in, main.spec);
  }
  if (main.spec.empty()) return Status::ok();
  // A bad spec fails at startup, not at the first retrain an hour later.
  auto check = make_recommender_from_spec(main.spec);
  if (!check.is_ok()) return Status::invalid_argument("model spec '" + main.spec + "': " + check.status().message());
  return write_file_atomically(spec_path(), {main.spec + "\n"});
}

// Every arm's saved model; training at once when one is missing and the options say so.
Status Engine::State::load_or_train_models() {
  bool all_loaded = true;
  for (size_t a = 0; a < retrainer.num_arms(); ++a) {
    if (std::filesystem::exists(retrainer.arm(a).model_path())) {
      NUDGE_RETURN_IF_ERROR(retrainer.load_saved_model(a));
    } else {
      all_loaded = false;
    }
  }
  if (!all_loaded && options.train_on_start &&
      log.size() >= static_cast<size_t>(std::max<int64_t>(options.retrain_min_events, 1)))
    return retrainer.retrain();
  return Status::ok();
}

Engine::RetrainHold::RetrainHold(State* s) : state_(s) { state_->retrainer.hold(); }
Engine::RetrainHold::~RetrainHold() {
  if (state_) state_->retrainer.release();
}

Engine::RetrainHold Engine::hold_retrains() { return RetrainHold(state_.get()); }

void Engine::set_model_listener(std::function<void(uint64_t, const std::string&)> listener) {
  state_->retrainer.set_listener(std::move(listener));
}

Status Engine::install_model(const std::string& path, uint64_t version) {
  return state_->retrainer.install(path, version);
}

void Engine::request_retrain(std::function<void(const Status&)> done) { state_->retrainer.request(std::move(done)); }

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
  for (size_t a = 0; a < state_->retrainer.num_arms(); ++a) models.push_back(state_->retrainer.model(a));
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
  std::vector<uint32_t> items, recent;
  std::vector<float> weights;
  std::vector<UserData::PastEvent> past;
  {
    auto user = u->read();
    items = user->items;
    weights = user->weights;
    recent = user->recent;
    past = user->events;
    info.attributes_json = user->attributes;
  }
  auto cat = state_->catalogue.read();
  for (size_t k = 0; k < items.size(); ++k) info.history.emplace_back(cat->items.id_of(items[k]), weights[k]);
  for (uint32_t i : recent) info.recent.push_back(cat->items.id_of(i));
  for (auto e = past.rbegin(); e != past.rend(); ++e)
    info.events.push_back({id, cat->items.id_of(e->item), cat->event_types.name(e->type), e->value, e->timestamp});
  return info;
}

namespace {

ItemInfo item_info_of(const Catalogue& cat, uint32_t item, int64_t now) {
  const ItemState& st = cat.item_states[item];
  ItemInfo info;
  info.record = st.record;
  info.popularity = std::isinf(st.log_trend) ? 0.0 : std::exp(st.log_trend - cat.trend_rate * static_cast<double>(now));
  info.described = !st.record.category.empty() || !st.record.tags.empty() || !std::isnan(st.record.price);
  return info;
}

}  // namespace

std::optional<ItemInfo> Engine::item_info(const std::string& id) const {
  auto cat = state_->catalogue.read();
  auto item = cat->items.find(id);
  if (!item) return std::nullopt;
  return item_info_of(*cat, *item, now_seconds());
}

std::vector<ItemInfo> Engine::find_items(const ItemQuery& query, size_t* matched) const {
  auto cat = state_->catalogue.read();
  std::vector<ScoredItem> hits;  // by log_trend: the same order as popularity, without exp per item
  for (uint32_t i = 0; i < cat->item_states.size(); ++i) {
    const ItemRecord& r = cat->item_states[i].record;
    if (!query.text.empty() && r.id.find(query.text) == std::string::npos) continue;
    if (!query.category.empty() && r.category != query.category) continue;
    if (!query.tag.empty() && std::find(r.tags.begin(), r.tags.end(), query.tag) == r.tags.end()) continue;
    const double trend = cat->item_states[i].log_trend;
    hits.push_back({i, std::isinf(trend) ? -std::numeric_limits<float>::infinity() : static_cast<float>(trend)});
  }
  if (matched) *matched = hits.size();
  keep_best(&hits, query.limit);
  std::vector<ItemInfo> out;
  const int64_t now = now_seconds();
  for (const ScoredItem& h : hits) out.push_back(item_info_of(*cat, h.item, now));
  return out;
}

Status Engine::retrain() { return state_->retrainer.retrain(); }

Status Engine::flush_store() { return state_->store->flush(); }

std::shared_ptr<const ServingModel> Engine::model(size_t arm) const {
  NUDGE_CHECK(arm < state_->retrainer.num_arms(), "no such arm");
  return state_->retrainer.model(arm);
}

std::vector<std::string> Engine::arm_names() const {
  std::vector<std::string> names;
  for (size_t a = 0; a < state_->retrainer.num_arms(); ++a) names.push_back(state_->retrainer.arm(a).name);
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
  st.retrains = state_->retrainer.retrains();
  st.retrain_failures = state_->retrainer.failures();
  st.records_skipped = state_->records_skipped;
  st.damaged_events = state_->store->damaged_events();
  st.store = state_->store->health();
  if (!state_->options.arms.empty())
    for (size_t a = 0; a < state_->retrainer.num_arms(); ++a) {
      const Retrainer::Arm& arm = state_->retrainer.arm(a);
      auto m = arm.model.load();
      st.arms.push_back({arm.name, m ? m->spec() : arm.spec, m ? m->version() : 0});
    }
  return st;
}

}  // namespace nudge::serve
