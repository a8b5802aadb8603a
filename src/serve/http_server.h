// HttpServer: HTTP/1.1 with keep-alive on Boost.Beast, asynchronous, on a pool of threads
// running one io_context. Each connection reads one request at a time, hands it to HttpApi
// and writes the response when HttpApi answers -- possibly from another thread, so event
// ingestion never blocks a network thread while its batch syncs to disk.
//
// Limits (HttpServerOptions): body size (413), header size (431), open connections (503 and
// close), an idle timeout before a request starts and a deadline for receiving a started one,
// so idle or trickling clients cannot starve the others. HEAD answers like GET without a
// body. The network threads catch what a handler throws, log it and go on.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "serve/http_api.h"

namespace nudge::serve {

class HttpServer {
 public:
  HttpServer(HttpApi& api, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the threads; fails when the address cannot be bound.
  Status start();
  uint16_t port() const;  // the bound port
  size_t open_connections() const;
  uint64_t connections_refused() const;  // turned away at max_connections
  // Blocks until SIGINT or SIGTERM, then stops accepting and returns.
  void wait_for_signal();
  // Stops accepting, waits for the answers the API still owes (events waiting for their
  // commit, a retrain in progress), closes connections and joins the threads.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace nudge::serve
