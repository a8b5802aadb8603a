#include "serve/retrainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/atomic_file.h"
#include "nudge/log.h"
#include "nudge/model_file.h"
#include "nudge/registry.h"
#include "nudge/serve/user_attributes.h"
#include "serve/experiment.h"

namespace nudge::serve {
namespace {

// Runs on the retrain thread: a caller's callback that throws is logged, never lets the
// exception end the thread (and the process).
void answer(const Retrainer::Done& done, const Status& status) {
  try {
    done(status);
  } catch (const std::exception& e) {
    spdlog::error("serve: a retrain callback failed: {}", e.what());
  }
}

size_t min_events(const EngineOptions& options) {
  return static_cast<size_t>(std::max<int64_t>(options.retrain_min_events, 1));
}

}  // namespace

Retrainer::Retrainer(const EngineOptions& options, Guarded<Catalogue, LockRank::kTable>& catalogue,
                     const UserTable& users, const TrainingLog& log)
    : options_(options), catalogue_(catalogue), users_(users), log_(log) {}

Retrainer::~Retrainer() { stop(); }

Status Retrainer::make_arms() {
  std::vector<ArmOptions> wanted = options_.arms;
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
    arm->dir = a == 0 ? options_.data_dir : options_.data_dir + "/arms/" + arm->name;
    std::error_code ec;
    std::filesystem::create_directories(arm->dir, ec);
    if (ec) return Status::io_error("cannot create data directory " + arm->dir + ": " + ec.message());
    arms_.push_back(std::move(arm));
  }
  catalogue_.write()->cold.resize(arms_.size());
  return Status::ok();
}

uint64_t Retrainer::read_saved_version(const Arm& arm) const {
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

Status Retrainer::load_saved_model(size_t a) {
  Arm& arm = *arms_[a];
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
    auto cat = catalogue_.write();
    for (uint32_t r = 0; r < rows; ++r) catalogue_index[r] = cat->intern_item(loaded.items.id_of(r));
    num_items = static_cast<uint32_t>(cat->items.size());
    for (const auto& st : cat->item_states) features.push_back(st.record);
  }
  // The version the model had when it was saved, so a restart does not renumber it.
  next_version_ = std::max<uint64_t>(next_version_, read_saved_version(arm));
  auto m = ServingModel::build(std::move(loaded.model), std::move(catalogue_index), num_items, trained, features,
                               options_.model, next_version_++);
  auto cat = catalogue_.write();
  arm.model.store(m);
  for (uint32_t i = 0; i < cat->items.size(); ++i) cat->refresh_cold(i, a, m.get());
  spdlog::info("serve: loaded model {} ({}, {} items)", model_path, m->spec(), rows);
  return Status::ok();
}

std::string Retrainer::spec_to_train(size_t a, bool items_have_features) const {
  const std::string& spec = arms_[a]->spec;
  return spec.empty() ? default_model_spec(options_.model, items_have_features) : spec;
}

std::optional<Retrainer::Snapshot> Retrainer::take_snapshot() const {
  auto catalog = std::make_shared<Catalog>();
  std::vector<ItemRecord> features;
  // The log first, then the maps: the engine interns before it logs and the maps only grow,
  // so every index in the copied log is below the copied maps' sizes.
  Interactions data = log_.copy();  // events after this point wait for the next retrain
  {
    auto cat = catalogue_.read();
    catalog->items = cat->items;
    catalog->event_types = cat->event_types;
    features.reserve(cat->item_states.size());
    for (const auto& st : cat->item_states) features.push_back(st.record);
  }
  std::vector<FeatureDescription> attributes;
  catalog->users = users_.ids(&attributes);
  if (data.size() < min_events(options_)) return std::nullopt;
  const bool described = std::any_of(features.begin(), features.end(), [](const ItemRecord& r) {
    return !r.category.empty() || !r.tags.empty() || !std::isnan(r.price);
  });
  if (described) catalog->item_features = item_feature_table(features);
  catalog->item_features.resize(static_cast<uint32_t>(catalog->items.size()));
  if (std::any_of(attributes.begin(), attributes.end(), [](const auto& a) { return !a.empty(); }))
    catalog->user_features = user_feature_table(attributes);
  catalog->user_features.resize(static_cast<uint32_t>(catalog->users.size()));
  return Snapshot{Dataset(catalog, std::move(data)), std::move(features), described};
}

Status Retrainer::retrain() {
  std::lock_guard one_at_a_time(retrain_mutex_);
  // Counted before the copy: events arriving during training count towards the next one.
  const uint64_t pending_before = events_since_train_.exchange(0);
  const std::optional<Snapshot> snapshot = take_snapshot();
  if (!snapshot) {
    events_since_train_.fetch_add(pending_before);
    return Status::ok();
  }
  // Every arm on the same log; one that fails keeps its model and does not stop the others.
  Status first_failure;
  for (size_t a = 0; a < arms_.size(); ++a) {
    Status st = retrain_arm(a, *snapshot);
    if (st.is_ok()) continue;
    ++failures_;
    if (arms_.size() > 1) spdlog::error("serve: arm {} failed to retrain: {}", arms_[a]->name, st.to_string());
    if (first_failure.is_ok()) first_failure = st;
  }
  if (!first_failure.is_ok()) return first_failure;
  ++retrains_;
  return Status::ok();
}

Status Retrainer::retrain_arm(size_t a, const Snapshot& snapshot) {
  Arm& arm = *arms_[a];
  const Dataset& dataset = snapshot.dataset;
  NUDGE_ASSIGN_OR_RETURN(auto m, ServingModel::train(dataset, spec_to_train(a, snapshot.described), snapshot.features,
                                                     options_.model, next_version_++));
  const Catalog& catalog = dataset.catalog();
  NUDGE_RETURN_IF_ERROR(
      save_model(m->recommender(), catalog.users, catalog.items, dataset.user_items(), arm.model_path()));
  // After the model: a crash in between leaves the previous number, never one for a model not saved.
  NUDGE_RETURN_IF_ERROR(write_file_atomically(arm.version_path(), {std::to_string(m->version()) + "\n"}));
  {
    auto cat = catalogue_.write();
    arm.model.store(m);  // the swap: later requests see the new model, earlier ones keep theirs
    for (uint32_t i = 0; i < cat->items.size(); ++i) cat->refresh_cold(i, a, m.get());
  }
  spdlog::info("serve: model {} ({}) trained on {} events in {:.2f} s", m->version(), m->spec(),
               dataset.num_interactions(), m->train_seconds());
  if (a != 0) return Status::ok();
  std::lock_guard lock(listener_mutex_);
  if (listener_) listener_(m->version(), arm.model_path());
  return Status::ok();
}

Status Retrainer::install(const std::string& path, uint64_t version) {
  std::lock_guard one_at_a_time(retrain_mutex_);
  NUDGE_RETURN_IF_ERROR(load_model(path).status());  // a damaged file is refused before anything changes
  const Arm& main = *arms_[0];
  NUDGE_RETURN_IF_ERROR(copy_file_atomically(path, main.model_path()));
  NUDGE_RETURN_IF_ERROR(write_file_atomically(main.version_path(), {std::to_string(version) + "\n"}));
  next_version_.store(version);  // the publisher's number, not this replica's next one
  return load_saved_model(0);
}

void Retrainer::set_listener(Listener listener) {
  std::lock_guard lock(listener_mutex_);
  listener_ = std::move(listener);
}

void Retrainer::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void Retrainer::stop() {
  {
    std::lock_guard lock(wake_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Retrainer::request(Done done) {
  {
    std::lock_guard lock(wake_mutex_);
    if (!stopping_) {
      requests_.push_back(std::move(done));
      wake_.notify_all();
      return;
    }
  }
  done(Status::io_error("server is shutting down"));
}

bool Retrainer::due(std::chrono::steady_clock::time_point last) const {
  if (holds_.load() > 0) return false;
  const uint64_t events = events_since_train_.load();
  const bool by_count =
      options_.retrain_after_events > 0 && events >= static_cast<uint64_t>(options_.retrain_after_events);
  const bool by_time = options_.retrain_interval_s > 0 && events > 0 &&
                       std::chrono::steady_clock::now() - last >= std::chrono::seconds(options_.retrain_interval_s);
  return by_count || by_time;
}

// The thread's boundary: a failure in training or in a caller's callback is logged and the
// loop goes on (an exception escaping a std::thread would end the process).
void Retrainer::retrain_for(std::vector<Done> requests) {
  Status st;
  try {
    st = retrain();
  } catch (const std::exception& e) {
    ++failures_;
    st = Status::internal(std::string("retrain: ") + e.what());
  }
  if (!st.is_ok()) spdlog::error("serve: retrain failed: {}", st.to_string());
  for (auto& done : requests) answer(done, st);
}

void Retrainer::run() {
  auto last = std::chrono::steady_clock::now();
  std::unique_lock lock(wake_mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_ || !requests_.empty(); });
    if (stopping_) break;
    if (requests_.empty() && !due(last)) continue;
    auto requests = std::move(requests_);
    requests_.clear();
    lock.unlock();
    retrain_for(std::move(requests));
    last = std::chrono::steady_clock::now();
    lock.lock();
  }
  for (auto& done : requests_) answer(done, Status::io_error("server is shutting down"));
  requests_.clear();
}

}  // namespace nudge::serve
