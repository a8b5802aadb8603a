// Server: `nudge serve` as one object that owns every part of a running server and the order
// they start and stop in (docs/serving.md; the CLI only turns flags into a ServeConfig).
//
//   auto server = Server::open(config);       // the store, the model (may train for minutes)
//   import_dataset(server->engine(), data);    // optional: bootstrap from history
//   server->start();                           // cluster, Kafka, the routes, the listening socket
//   server->wait_for_signal();                 // SIGINT / SIGTERM
//   server->stop();                            // what the destructor also does
//
// Start-up order, each step refusing the start with its reason: the experiment is checked, the
// engine opens (the store is recovered, a model loaded or trained), then on start() the
// cluster joins Redis, the Kafka consumer and producer connect, the owner router, the HTTP API
// and the listening socket come up. Shutdown is the reverse: the socket stops accepting and
// the answers still owed are sent, the producer delivers what it accepted, the consumer stops
// before the engine it writes to, the cluster hands its lock over, and the engine drains the
// store last, while everything that might still call it is alive.
//
// Thread-safety: one thread drives open/start/stop; the parts run their own threads.
#pragma once

#include <cstdint>
#include <memory>

#include "nudge/serve/config.h"
#include "nudge/serve/engine.h"
#include "nudge/status.h"

namespace nudge::serve {

class Server {
 public:
  // Checks the experiment, then opens the engine: no network yet. A clustered replica does
  // not train at start (its leader does), and a trainer reads every Kafka partition.
  static Result<std::unique_ptr<Server>> open(ServeConfig config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  Engine& engine();
  const ServeConfig& config() const;

  // Joins the cluster, connects Kafka and listens. An unreachable Redis or Kafka, a missing
  // topic or a port in use is an error and nothing keeps running.
  Status start();
  // The bound port (after start(); port 0 in the options picks a free one).
  uint16_t port() const;
  // Blocks until SIGINT or SIGTERM.
  void wait_for_signal();
  // Stops every part in the order above; idempotent.
  void stop();

 private:
  struct Parts;
  explicit Server(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace nudge::serve
