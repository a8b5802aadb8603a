// RedisClient: one blocking connection to Redis (hiredis) for the replicas' shared state
// (cluster.h): commands with a timeout, reconnecting on the next command after the connection
// broke. Errors name the address ("redis 127.0.0.1:6379: Connection refused").
// Thread-safety: command() may be called concurrently (one command at a time on the wire).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nudge/serve/options.h"
#include "nudge/status.h"

namespace nudge::serve {

struct RedisReply {
  enum class Type { kNil, kInteger, kString, kArray };  // status replies read as strings
  Type type = Type::kNil;
  int64_t integer = 0;
  std::string text;
  std::vector<RedisReply> elements;
};

class RedisClient {
 public:
  // Connects and checks the server answers PING.
  static Result<std::unique_ptr<RedisClient>> connect(RedisOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // One command, e.g. {"SET", key, value, "PX", "5000"}. A Redis error reply is an error.
  Result<RedisReply> command(const std::vector<std::string>& args);
  const std::string& address() const;

  struct Impl;

 private:
  explicit RedisClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nudge::serve
