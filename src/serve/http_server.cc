#include "nudge/serve/http_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <future>
#include <thread>
#include <vector>

#include "nudge/parallel.h"

namespace nudge::serve {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpApi& api, const HttpServerOptions& options)
      : stream_(std::move(socket)), api_(api), options_(options) {}

  void start() {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::read, shared_from_this()));
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(options_.max_body_bytes);
    stream_.expires_after(std::chrono::seconds(options_.idle_timeout_s));
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset || ec == net::error::eof)
      return close();
    if (ec == http::error::body_limit)
      return send(HttpApi::error(413, "body", "larger than " + std::to_string(options_.max_body_bytes) + " bytes"), 11,
                  false);
    if (ec) return send(HttpApi::error(400, "request", "malformed HTTP request: " + ec.message()), 11, false);

    auto& req = parser_->get();
    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    if (auto auth = req.find(http::field::authorization); auth != req.end()) request.authorization = std::string(auth->value());
    request.body = std::move(req.body());
    const unsigned version = req.version();
    const bool keep_alive = req.keep_alive();
    // The answer may come from another thread (durable ingest): hop back onto our strand.
    api_.handle(request, [self = shared_from_this(), version, keep_alive](HttpResponse r) {
      net::post(self->stream_.get_executor(), [self, r = std::move(r), version, keep_alive]() mutable {
        self->send(std::move(r), version, keep_alive);
      });
    });
  }

  void send(HttpResponse r, unsigned version, bool keep_alive) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), version);
    res->set(http::field::server, "nudge");
    res->set(http::field::content_type, r.content_type);
    res->keep_alive(keep_alive);
    res->body() = std::move(r.body);
    res->prepare_payload();
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
      if (ec || !res->keep_alive()) return self->close();
      self->read();
    });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpApi& api_;
  const HttpServerOptions& options_;
};

}  // namespace

struct HttpServer::Impl {
  Impl(HttpApi& a, HttpServerOptions o)
      : api(a), options(std::move(o)), ioc(resolve_threads(options.threads)), acceptor(net::make_strand(ioc)) {}

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) {
        socket.set_option(tcp::no_delay(true), ec);
        std::make_shared<Session>(std::move(socket), api, options)->start();
      }
      accept();
    });
  }

  HttpApi& api;
  HttpServerOptions options;
  net::io_context ioc;
  tcp::acceptor acceptor;
  std::vector<std::thread> threads;
  uint16_t port = 0;
};

HttpServer::HttpServer(HttpApi& api, HttpServerOptions options) : impl_(std::make_unique<Impl>(api, std::move(options))) {}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start() {
  Impl& s = *impl_;
  beast::error_code ec;
  const auto address = net::ip::make_address(s.options.host, ec);
  if (ec) return Status::invalid_argument("bad listen address '" + s.options.host + "': " + ec.message());
  const tcp::endpoint endpoint(address, s.options.port);
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return Status::io_error("cannot listen on " + s.options.host + ":" + std::to_string(s.options.port) + ": " + ec.message());
  s.port = s.acceptor.local_endpoint().port();
  s.accept();
  const int n = resolve_threads(s.options.threads);
  for (int t = 0; t < n; ++t) s.threads.emplace_back([&s] { s.ioc.run(); });
  return Status::ok();
}

uint16_t HttpServer::port() const { return impl_->port; }

void HttpServer::wait_for_signal() {
  net::io_context signals_ioc;
  net::signal_set signals(signals_ioc, SIGINT, SIGTERM);
  signals.async_wait([](beast::error_code, int) {});
  signals_ioc.run_one();
}

void HttpServer::stop() {
  Impl& s = *impl_;
  if (s.threads.empty()) return;
  std::promise<void> closed;
  net::post(s.acceptor.get_executor(), [&] {
    beast::error_code ignored;
    s.acceptor.close(ignored);
    closed.set_value();
  });
  closed.get_future().wait();
  s.ioc.stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
}

}  // namespace nudge::serve
