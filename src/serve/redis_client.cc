#include "serve/redis_client.h"

#include <hiredis/hiredis.h>

#include <charconv>
#include <mutex>

namespace nudge::serve {
namespace {

timeval to_timeval(int ms) { return {ms / 1000, (ms % 1000) * 1000}; }

bool parse_port(std::string_view text, int* port) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *port);
  return ec == std::errc() && end == text.data() + text.size() && *port > 0 && *port < 65536;
}

RedisReply convert(const redisReply& r) {
  RedisReply out;
  switch (r.type) {
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kString;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      for (size_t k = 0; k < r.elements; ++k) out.elements.push_back(convert(*r.element[k]));
      break;
    default: break;  // nil
  }
  return out;
}

}  // namespace

struct RedisClient::Impl {
  RedisOptions options;
  std::string host;
  int port = 0;
  std::mutex mutex;
  redisContext* context = nullptr;  // guarded by mutex; null while disconnected

  Status where(const std::string& what) const { return Status::io_error("redis " + options.address + ": " + what); }

  Status connect_locked() {
    if (context) return Status::ok();
    const timeval timeout = to_timeval(options.timeout_ms);
    redisContext* c = redisConnectWithTimeout(host.c_str(), port, timeout);
    if (!c) return where("out of memory");
    if (c->err) {
      Status s = where(c->errstr);
      redisFree(c);
      return s;
    }
    redisSetTimeout(c, timeout);
    context = c;
    return Status::ok();
  }
  void drop_locked() {
    if (context) redisFree(context);
    context = nullptr;
  }
  ~Impl() { drop_locked(); }
};

RedisClient::RedisClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RedisClient::~RedisClient() = default;

const std::string& RedisClient::address() const { return impl_->options.address; }

Result<std::unique_ptr<RedisClient>> RedisClient::connect(RedisOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  const std::string& address = impl->options.address;
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 || !parse_port(address.substr(colon + 1), &port))
    return Status::invalid_field("redis", "expected host:port, got '" + address + "'");
  impl->host = address.substr(0, colon);
  impl->port = port;
  if (impl->options.timeout_ms < 1) impl->options.timeout_ms = 1;
  std::unique_ptr<RedisClient> client(new RedisClient(std::move(impl)));
  NUDGE_ASSIGN_OR_RETURN(RedisReply pong, client->command({"PING"}));
  if (pong.text != "PONG") return client->impl_->where("unexpected answer to PING: '" + pong.text + "'");
  return client;
}

Result<RedisReply> RedisClient::command(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  std::lock_guard lock(impl_->mutex);
  NUDGE_RETURN_IF_ERROR(impl_->connect_locked());
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(impl_->context, static_cast<int>(argv.size()), argv.data(), lengths.data()));
  if (!reply) {
    // The connection is broken (or timed out mid-reply): the next command reconnects.
    Status s = impl_->where(impl_->context->errstr[0] ? impl_->context->errstr : "no reply");
    impl_->drop_locked();
    return s;
  }
  std::unique_ptr<redisReply, decltype(&freeReplyObject)> owned(reply, freeReplyObject);
  if (reply->type == REDIS_REPLY_ERROR) return impl_->where(std::string(reply->str, reply->len));
  return convert(*reply);
}

}  // namespace nudge::serve
