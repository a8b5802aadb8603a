// HttpServer: HTTP/1.1 with keep-alive on Boost.Beast, asynchronous, on a pool of threads
// running one io_context. Each connection reads one request at a time (with a body limit:
// larger bodies get 413 and the connection closes), hands it to HttpApi and writes the
// response when HttpApi answers -- possibly from another thread, so event ingestion never
// blocks a network thread while its batch syncs to disk.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "nudge/serve/http_api.h"

namespace nudge::serve {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;                   // 0: any free port (see port())
  int threads = 0;                        // 0: all cores
  size_t max_body_bytes = 8 << 20;        // larger bodies: 413
  int idle_timeout_s = 60;                // idle keep-alive connections are closed
};

class HttpServer {
 public:
  HttpServer(HttpApi& api, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the threads; fails when the address cannot be bound.
  Status start();
  uint16_t port() const;  // the bound port
  // Blocks until SIGINT or SIGTERM, then stops accepting and returns.
  void wait_for_signal();
  // Stops accepting, closes connections and joins the threads.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace nudge::serve
