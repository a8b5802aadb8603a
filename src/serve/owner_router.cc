#include "serve/owner_router.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

#include "nudge/log.h"
#include "serve/kafka_producer.h"

namespace nudge::serve {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

constexpr uint64_t kLoggedFailuresInFull = 20;  // then one in kLogEveryFailure
constexpr uint64_t kLogEveryFailure = 1000;
constexpr size_t kMaxAnswerBytes = 64 << 20;

}  // namespace

Result<HttpResponse> forward_request(const std::string& base_url, const HttpRequest& request, int timeout_ms) {
  const std::string_view scheme = "http://";
  std::string_view rest(base_url);
  if (!rest.starts_with(scheme))
    return Status::invalid_argument("owner URL '" + base_url + "' is not http://host:port");
  rest.remove_prefix(scheme.size());
  while (rest.ends_with('/')) rest.remove_suffix(1);
  const size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size())
    return Status::invalid_argument("owner URL '" + base_url + "' is not http://host:port");
  const std::string host(rest.substr(0, colon)), port(rest.substr(colon + 1));

  // Asynchronous operations on a private io_context run for at most the timeout: a hung
  // owner costs this request the timeout, never the thread.
  net::io_context ioc;
  net::ip::tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  http::request<http::string_body> out{http::string_to_verb(request.method), request.target, 11};
  out.set(http::field::host, host);
  out.set(kForwardedHeader, "1");
  if (!request.authorization.empty()) out.set(http::field::authorization, request.authorization);
  if (!request.body.empty()) {
    out.set(http::field::content_type, "application/json");
    out.body() = request.body;
  }
  out.prepare_payload();
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxAnswerBytes);
  if (request.method == "HEAD") parser.skip(true);  // a Content-Length but no body follows
  beast::error_code failure;
  bool done = false;
  resolver.async_resolve(host, port, [&](beast::error_code ec, net::ip::tcp::resolver::results_type endpoints) {
    if (ec) return void(failure = ec);
    stream.async_connect(endpoints, [&](beast::error_code ec2, const net::ip::tcp::endpoint&) {
      if (ec2) return void(failure = ec2);
      http::async_write(stream, out, [&](beast::error_code ec3, size_t) {
        if (ec3) return void(failure = ec3);
        http::async_read(stream, buffer, parser, [&](beast::error_code ec4, size_t) {
          if (ec4) failure = ec4;
          else done = true;
        });
      });
    });
  });
  ioc.run_for(std::chrono::milliseconds(timeout_ms));
  if (!done) {
    const std::string why = failure ? failure.message() : "no answer within " + std::to_string(timeout_ms) + " ms";
    return Status::io_error("owner " + base_url + ": " + why);
  }
  HttpResponse answer;
  answer.status = static_cast<int>(parser.get().result_int());
  if (auto type = parser.get().find(http::field::content_type); type != parser.get().end())
    answer.content_type = std::string(type->value());
  answer.body = std::move(parser.get().body());
  return answer;
}

OwnerRouter::OwnerRouter(const Cluster& cluster, int32_t partitions, int timeout_ms)
    : cluster_(cluster), partitions_(partitions), timeout_ms_(timeout_ms) {}

std::optional<HttpResponse> OwnerRouter::route(const HttpRequest& request, const std::string& user) {
  const int32_t partition = kafka_partition_of(user, partitions_);
  const std::string owner = cluster_.owner_url(partition);
  if (owner.empty()) return std::nullopt;
  auto answer = forward_request(owner, request, timeout_ms_);
  if (answer.is_ok()) {
    forwarded_.fetch_add(1);
    return std::move(answer.value());
  }
  const uint64_t n = failures_.fetch_add(1) + 1;
  if (n <= kLoggedFailuresInFull || n % kLogEveryFailure == 0)
    spdlog::warn("router: user '{}' (partition {}): {}; answered here ({} so far)", user, partition,
                 answer.status().to_string(), n);
  return std::nullopt;
}

}  // namespace nudge::serve
