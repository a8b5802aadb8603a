// Cluster: the replicas of a scaled-out deployment agreeing, through Redis, on who trains and
// which model serves (docs/scale-out.md).
//
//   leader      Replicas started as trainers (they consume every partition, so they hold the
//               whole log) compete for one expiring lock, `<name>:leader` (SET NX PX, renewed
//               every poll by a compare-and-extend script). Only the holder retrains; the others
//               hold their retrains (Engine::hold_retrains). A holder that cannot renew steps
//               down before its lease can expire, so two leaders never train at once.
//   publish     After each retrain the leader copies the model file to the shared `model_dir`
//               (model-<version>.nudge, written whole then renamed) and sets `<name>:model` to
//               "<version> <path>" -- in one script that first checks it still holds the lock.
//   follow      Every replica polls `<name>:model` and installs a newer version
//               (Engine::install_model): all replicas hot-swap to what the leader trained.
//   owners      A serving replica publishes the Kafka partitions it consumes in the hash
//               `<name>:owners` (partition -> "<replica> <advertised URL>"), re-asserted every
//               poll and removed (if still its own) when lost, and reads the whole table back:
//               OwnerRouter sends a user's requests to the replica holding the user's state.
//
// Redis holds only the lock and the version record; the model blob is a file on a directory
// every replica can read (shared storage). Losing Redis at run time stops leadership and model
// updates only: every replica goes on serving its current model, and both resume when Redis
// answers again. Thread-safety: every method may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nudge/serve/engine.h"
#include "nudge/serve/options.h"
#include "serve/redis_client.h"

namespace nudge::serve {

struct ClusterStats {
  bool leader = false;
  bool redis_connected = false;
  uint64_t published_version = 0;  // the newest version this replica published
  uint64_t installed_version = 0;  // the newest published version this replica installed
  uint64_t leader_changes = 0;     // times this replica became leader
  uint64_t forwarded = 0;          // requests sent on to their user's owner (OwnerRouter)
  uint64_t forward_failures = 0;   // owners that did not answer: answered here instead
};

class Cluster {
 public:
  // Connects to Redis (an unreachable server is an error naming it), checks a trainer's
  // model_dir is writable, and starts the coordination thread.
  static Result<std::unique_ptr<Cluster>> start(Engine& engine, ClusterOptions options);
  ~Cluster();  // gives the lock up if it holds it
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  ClusterStats stats() const;
  const std::string& replica_id() const;

  // The partitions this replica consumes now (KafkaOptions::on_assignment), published at the
  // next poll. Ignored without `advertise`.
  void set_owned_partitions(const std::vector<int32_t>& partitions);
  // Sets the URL published with owned partitions, when only known once listening (port 0).
  void set_advertise(const std::string& url);
  // The advertised URL of the replica owning `partition`, as read at the last poll; empty
  // when this replica owns it or no owner is known (answer here).
  std::string owner_url(int32_t partition) const;

  struct Impl;

 private:
  explicit Cluster(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Publishes a model file trained outside the cluster (nudge-train-mpi on several machines,
// or nudge train) to every replica, as a leading trainer publishes a retrain: the file is
// checked to load, the leader lock is taken for the publication (so it never races a
// trainer), the file is copied to model_dir as model-<v>.nudge with v one past the
// published version, the record is set, and the lock is given back. Refused, naming the
// holder, while a trainer leads: its next retrain would replace the model, so a cluster
// trained this way runs without trainers (docs/scale-out.md). Returns v.
Result<uint64_t> publish_model_file(ClusterOptions options, const std::string& path);

}  // namespace nudge::serve
