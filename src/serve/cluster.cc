#include "serve/cluster.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "common/atomic_file.h"
#include "nudge/log.h"
#include "nudge/model_file.h"

namespace nudge::serve {
namespace {

using Clock = std::chrono::steady_clock;

// Extends the lock only for its holder (KEYS[1] lock, ARGV[1] replica, ARGV[2] lease ms).
constexpr const char* kRenewScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";
// Deletes the lock only for its holder.
constexpr const char* kReleaseScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
// Sets the model record only while holding the lock (KEYS[2] model, ARGV[2] "<version> <path>"),
// so a leader that lost its lock while training cannot overwrite its successor's model.
constexpr const char* kPublishScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[2], ARGV[2]) return 1 end return 0";

// Removes a partition's owner entry only if it is still this replica's (KEYS[1] owners,
// ARGV[1] partition, ARGV[2] "<replica> <url>").
constexpr const char* kDisownScript =
    "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0";

constexpr uint64_t kKeptModelFiles = 3;  // published files kept: followers may still be reading older ones

std::string default_replica_id() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host[0] ? host : "replica") + ":" + std::to_string(getpid());
}

// Whether a file can be created (and is removed again) at `path`.
bool write_probe(const std::string& path) {
  const bool ok = static_cast<bool>(std::ofstream(path) << "ok\n");
  std::error_code error;
  std::filesystem::remove(path, error);
  return ok;
}

// "<version> <path>" -> version and path; false when it is not that.
bool parse_model_record(const std::string& text, uint64_t* version, std::string* path) {
  const size_t space = text.find(' ');
  if (space == std::string::npos || space + 1 >= text.size()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + space, *version);
  if (ec != std::errc() || end != text.data() + space || *version == 0) return false;
  *path = text.substr(space + 1);
  return true;
}

}  // namespace

struct Cluster::Impl {
  Engine& engine;
  ClusterOptions options;
  std::unique_ptr<RedisClient> redis;
  std::string lock_key, model_key, owners_key;

  std::atomic<bool> leader{false}, connected{true};
  std::atomic<uint64_t> published{0}, installed{0}, leader_changes{0};
  Clock::time_point renewed_at;             // the cluster thread's own
  std::optional<Engine::RetrainHold> hold;  // while not leader; the cluster thread's own
  std::mutex wake_mutex;
  std::condition_variable wake;
  bool stopping = false;  // guarded by wake_mutex
  std::thread thread;

  mutable std::mutex owners_mutex;
  std::vector<int32_t> owned;                 // set by the Kafka consumer; guarded by owners_mutex
  std::map<int32_t, std::string> owner_urls;  // other replicas' partitions; guarded by owners_mutex
  std::vector<int32_t> published_owned;       // what the last poll wrote; the cluster thread's own
  std::string published_as;                   // and the value it wrote them with; the same
  std::set<std::string> warned_entries;       // malformed owner entries already logged; the same

  Impl(Engine& e, ClusterOptions o) : engine(e), options(std::move(o)) {
    lock_key = options.name + ":leader";
    model_key = options.name + ":model";
    owners_key = options.name + ":owners";
  }

  Result<RedisReply> call(const std::vector<std::string>& args) {
    auto r = redis->command(args);
    const bool ok = r.is_ok();
    if (connected.exchange(ok) != ok) {
      if (ok) spdlog::info("cluster: redis {} answers again", redis->address());
      else spdlog::warn("cluster: {}; serving goes on with the current model", r.status().to_string());
    }
    return r;
  }

  void run();
  void tick();
  void lead();
  void step_down(const char* why);
  void follow();
  void sync_owners();
  void publish(uint64_t version, const std::string& path);
  void remove_old_files(uint64_t newest) const;
};

void Cluster::Impl::run() {
  std::unique_lock lock(wake_mutex);
  while (!stopping) {
    lock.unlock();
    // The thread's boundary: a failure is logged and the next poll tries again.
    try {
      tick();
    } catch (const std::exception& e) {
      spdlog::error("cluster: {}", e.what());
    }
    lock.lock();
    wake.wait_for(lock, std::chrono::milliseconds(options.poll_ms), [&] { return stopping; });
  }
}

void Cluster::Impl::tick() {
  if (options.trainer) lead();
  follow();
  sync_owners();
}

void Cluster::Impl::sync_owners() {
  std::vector<int32_t> now;
  std::string advertise;
  {
    std::lock_guard lock(owners_mutex);
    now = owned;
    advertise = options.advertise;
  }
  const std::string me = options.replica_id + " " + advertise;
  if (!advertise.empty()) {
    // Re-asserted every poll: an entry survives a Redis restart and overwrites a dead owner's.
    if (!now.empty()) {
      std::vector<std::string> args = {"HSET", owners_key};
      for (const int32_t p : now) {
        args.push_back(std::to_string(p));
        args.push_back(me);
      }
      (void)call(args);
    }
    for (const int32_t p : published_owned)
      if (std::find(now.begin(), now.end(), p) == now.end())
        (void)call({"EVAL", kDisownScript, "1", owners_key, std::to_string(p), me});
    published_owned = std::move(now);
    published_as = me;
  }
  auto table = call({"HGETALL", owners_key});
  if (!table.is_ok() || table.value().type != RedisReply::Type::kArray) return;
  std::map<int32_t, std::string> urls;
  const auto& e = table.value().elements;
  for (size_t k = 0; k + 1 < e.size(); k += 2) {
    int32_t partition = -1;
    const std::string& key = e[k].text;
    auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), partition);
    const size_t space = e[k + 1].text.find(' ');
    if (ec != std::errc() || end != key.data() + key.size() || space == std::string::npos) {
      if (warned_entries.insert(key + " " + e[k + 1].text).second)  // once each, not every poll
        spdlog::warn("cluster: {} holds '{}' -> '{}', not '<partition>' -> '<replica> <url>'; skipped", owners_key, key,
                     e[k + 1].text);
      continue;
    }
    if (e[k + 1].text.substr(0, space) != options.replica_id) urls[partition] = e[k + 1].text.substr(space + 1);
  }
  std::lock_guard lock(owners_mutex);
  owner_urls = std::move(urls);
}

void Cluster::Impl::lead() {
  const std::string lease = std::to_string(options.lease_ms);
  if (leader.load()) {
    auto renewed = call({"EVAL", kRenewScript, "1", lock_key, options.replica_id, lease});
    if (renewed.is_ok() && renewed.value().integer == 1) {
      renewed_at = Clock::now();
    } else if (renewed.is_ok()) {
      step_down("another replica holds the lock");
    } else if (Clock::now() - renewed_at >= std::chrono::milliseconds(options.lease_ms / 2)) {
      // Unrenewed for half the lease: the lock may expire soon and another replica take it.
      step_down("cannot renew the lock");
    }
    return;
  }
  auto taken = call({"SET", lock_key, options.replica_id, "NX", "PX", lease});
  if (!taken.is_ok() || taken.value().type != RedisReply::Type::kString) return;  // held by another
  renewed_at = Clock::now();
  leader.store(true);
  leader_changes.fetch_add(1);
  hold.reset();  // retrains by count and schedule run here now
  spdlog::info("cluster: {} is the leader of {} (trains and publishes models)", options.replica_id, options.name);
  auto record = call({"GET", model_key});
  if (record.is_ok() && record.value().type == RedisReply::Type::kNil && engine.stats().events > 0)
    engine.request_retrain([](const Status&) {});  // the cluster's first model
}

void Cluster::Impl::step_down(const char* why) {
  if (!leader.exchange(false)) return;
  hold.emplace(engine.hold_retrains());
  spdlog::warn("cluster: {} is no longer the leader: {}", options.replica_id, why);
}

void Cluster::Impl::follow() {
  auto record = call({"GET", model_key});
  if (!record.is_ok() || record.value().type != RedisReply::Type::kString) return;
  uint64_t version = 0;
  std::string path;
  if (!parse_model_record(record.value().text, &version, &path)) {
    spdlog::error("cluster: {} holds '{}', not '<version> <path>'", model_key, record.value().text);
    return;
  }
  if (version <= installed.load() || version <= published.load()) return;
  const Status s = engine.install_model(path, version);
  if (!s.is_ok()) {
    spdlog::error("cluster: cannot install model {} from {}: {}", version, path, s.to_string());
    return;
  }
  installed.store(version);
  spdlog::info("cluster: installed model {} from {}", version, path);
}

void Cluster::Impl::publish(uint64_t version, const std::string& path) {
  if (!leader.load()) return;  // a retrain asked of a non-leader by hand stays local
  namespace fs = std::filesystem;
  const std::string target = (fs::path(options.model_dir) / ("model-" + std::to_string(version) + ".nudge")).string();
  if (const Status copied = copy_file_atomically(path, target); !copied.is_ok()) {
    spdlog::error("cluster: cannot publish model {}: {}", version, copied.to_string());
    return;
  }
  auto done = call(
      {"EVAL", kPublishScript, "2", lock_key, model_key, options.replica_id, std::to_string(version) + " " + target});
  if (!done.is_ok() || done.value().integer != 1) {
    spdlog::warn("cluster: model {} not published: {}", version,
                 done.is_ok() ? "this replica no longer holds the lock" : done.status().to_string());
    std::error_code ignored;
    fs::remove(target, ignored);
    return;
  }
  published.store(version);
  spdlog::info("cluster: published model {} as {}", version, target);
  remove_old_files(version);
}

void Cluster::Impl::remove_old_files(uint64_t newest) const {
  namespace fs = std::filesystem;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(options.model_dir, error)) {
    const std::string name = entry.path().filename().string();
    uint64_t v = 0;
    if (name.rfind("model-", 0) != 0 || name.size() < 12 || name.substr(name.size() - 6) != ".nudge") continue;
    auto [end, ec] = std::from_chars(name.data() + 6, name.data() + name.size() - 6, v);
    if (ec == std::errc() && end == name.data() + name.size() - 6 && v + kKeptModelFiles <= newest)
      fs::remove(entry.path(), error);
  }
}

Cluster::Cluster(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Cluster::~Cluster() {
  impl_->engine.set_model_listener(nullptr);
  {
    std::lock_guard lock(impl_->wake_mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  // Partitions given up now, not left pointing at a replica that is gone.
  for (const int32_t p : impl_->published_owned)
    (void)impl_->redis->command(
        {"EVAL", kDisownScript, "1", impl_->owners_key, std::to_string(p), impl_->published_as});
  if (impl_->leader.load()) {
    // Handing over now, not after the lease runs out.
    auto r = impl_->redis->command({"EVAL", kReleaseScript, "1", impl_->lock_key, impl_->options.replica_id});
    if (!r.is_ok()) spdlog::warn("cluster: releasing the lock: {}", r.status().to_string());
  }
}

Result<std::unique_ptr<Cluster>> Cluster::start(Engine& engine, ClusterOptions options) {
  if (options.redis.address.empty()) return Status::invalid_field("cluster.redis", "no Redis address given");
  if (options.name.empty()) return Status::invalid_field("cluster.name", "empty");
  if (options.lease_ms < 100 || options.poll_ms < 1 || options.poll_ms * 3 > options.lease_ms)
    return Status::invalid_field("cluster.lease_ms", "must be >= 100 and at least 3 polls (poll_ms) long");
  if (options.replica_id.empty()) options.replica_id = default_replica_id();
  if (options.replica_id.find(' ') != std::string::npos)
    return Status::invalid_field("cluster.replica_id", "must not contain spaces");
  if (!options.advertise.empty() && !options.advertise.starts_with("http://"))
    return Status::invalid_field("cluster.advertise", "must be http://host:port, got '" + options.advertise + "'");
  if (options.forward_timeout_ms < 1) return Status::invalid_field("cluster.forward_timeout_ms", "must be >= 1");
  if (options.trainer) {
    if (options.model_dir.empty())
      return Status::invalid_field("cluster.model_dir", "a trainer needs the shared directory models are published to");
    std::error_code error;
    std::filesystem::create_directories(options.model_dir, error);
    const std::string probe = options.model_dir + "/.write-test-" + options.replica_id;
    if (error || !write_probe(probe))
      return Status::io_error("cluster: cannot write to model_dir " + options.model_dir);
  }
  NUDGE_ASSIGN_OR_RETURN(auto redis, RedisClient::connect(options.redis));
  auto impl = std::make_unique<Impl>(engine, std::move(options));
  impl->redis = std::move(redis);
  impl->hold.emplace(engine.hold_retrains());  // until this replica leads
  Impl* raw = impl.get();
  engine.set_model_listener([raw](uint64_t version, const std::string& path) {
    // Runs on the engine's retrain thread, inside its boundary; still, never throw there.
    try {
      raw->publish(version, path);
    } catch (const std::exception& e) {
      spdlog::error("cluster: publishing model {}: {}", version, e.what());
    }
  });
  impl->thread = std::thread([raw] { raw->run(); });
  spdlog::info("cluster: {} joined {} on redis {}{}", raw->options.replica_id, raw->options.name, raw->redis->address(),
               raw->options.trainer ? " as a trainer" : "");
  return std::unique_ptr<Cluster>(new Cluster(std::move(impl)));
}

ClusterStats Cluster::stats() const {
  ClusterStats s;
  s.leader = impl_->leader.load();
  s.redis_connected = impl_->connected.load();
  s.published_version = impl_->published.load();
  s.installed_version = impl_->installed.load();
  s.leader_changes = impl_->leader_changes.load();
  return s;
}

const std::string& Cluster::replica_id() const { return impl_->options.replica_id; }

void Cluster::set_advertise(const std::string& url) {
  std::lock_guard lock(impl_->owners_mutex);
  impl_->options.advertise = url;
}

void Cluster::set_owned_partitions(const std::vector<int32_t>& partitions) {
  std::lock_guard lock(impl_->owners_mutex);
  impl_->owned = partitions;
}

std::string Cluster::owner_url(int32_t partition) const {
  std::lock_guard lock(impl_->owners_mutex);
  auto at = impl_->owner_urls.find(partition);
  // A partition this replica owns may still be listed under its previous owner until the
  // next poll: this replica's own assignment wins.
  if (at == impl_->owner_urls.end() ||
      std::find(impl_->owned.begin(), impl_->owned.end(), partition) != impl_->owned.end())
    return "";
  return at->second;
}

Result<uint64_t> publish_model_file(ClusterOptions options, const std::string& path) {
  if (options.model_dir.empty())
    return Status::invalid_field("cluster.model_dir", "the shared directory models are published to is needed");
  NUDGE_RETURN_IF_ERROR(load_model(path).status());  // never publish what no replica could install
  if (options.replica_id.empty()) options.replica_id = "publisher:" + default_replica_id();
  NUDGE_ASSIGN_OR_RETURN(auto redis, RedisClient::connect(options.redis));
  const std::string lock_key = options.name + ":leader", model_key = options.name + ":model";
  NUDGE_ASSIGN_OR_RETURN(const RedisReply taken, redis->command({"SET", lock_key, options.replica_id, "NX", "PX",
                                                                 std::to_string(options.lease_ms)}));
  if (taken.type == RedisReply::Type::kNil) {
    auto holder = redis->command({"GET", lock_key});
    return Status::unsupported("cluster " + options.name + ": " +
                               (holder.is_ok() ? holder.value().text : std::string("a trainer")) +
                               " leads and trains, and its next retrain would replace this model: run the cluster "
                               "without trainers to serve models trained elsewhere");
  }
  auto publish = [&]() -> Result<uint64_t> {
    NUDGE_ASSIGN_OR_RETURN(const RedisReply record, redis->command({"GET", model_key}));
    uint64_t version = 0;
    std::string old_path;
    if (record.type == RedisReply::Type::kString && !parse_model_record(record.text, &version, &old_path))
      return Status::corruption(model_key + " holds '" + record.text + "', not '<version> <path>'");
    ++version;
    std::error_code error;
    std::filesystem::create_directories(options.model_dir, error);
    const std::string target =
        (std::filesystem::path(options.model_dir) / ("model-" + std::to_string(version) + ".nudge")).string();
    NUDGE_RETURN_IF_ERROR(copy_file_atomically(path, target));
    NUDGE_ASSIGN_OR_RETURN(const RedisReply done,
                           redis->command({"EVAL", kPublishScript, "2", lock_key, model_key, options.replica_id,
                                           std::to_string(version) + " " + target}));
    if (done.integer != 1) {
      std::filesystem::remove(target, error);
      return Status::internal("the leader lock expired while " + path + " was copied: nothing published");
    }
    return version;
  };
  Result<uint64_t> published = publish();
  (void)redis->command({"EVAL", kReleaseScript, "1", lock_key, options.replica_id});
  return published;
}

}  // namespace nudge::serve
