#include "serve/http_server.h"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "nudge/log.h"
#include "nudge/parallel.h"

namespace nudge::serve {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// Answers the API owes: an answer can come from another thread (the store's committer, the
// retrainer) and is posted into the io_context, so stop() must wait for all of them before
// that io_context goes away.
class PendingAnswers {
 public:
  void add() {
    std::lock_guard lock(mutex_);
    ++count_;
  }
  void done() {
    std::lock_guard lock(mutex_);
    if (--count_ == 0) none_left_.notify_all();
  }
  void wait_until_none() {
    std::unique_lock lock(mutex_);
    none_left_.wait(lock, [&] { return count_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable none_left_;
  size_t count_ = 0;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpApi& api, const HttpServerOptions& options, std::atomic<size_t>& open_connections,
          PendingAnswers& pending)
      : stream_(std::move(socket)),
        api_(api),
        options_(options),
        open_connections_(open_connections),
        pending_(pending) {
    ++open_connections_;
  }
  ~Session() { --open_connections_; }

  void start() { net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::read, shared_from_this())); }

 private:
  // Waits up to idle_timeout_s for the first bytes of the next request; from then on the whole
  // request must arrive within request_timeout_s, so a client trickling bytes (slowloris)
  // cannot hold a connection longer than that.
  void read() {
    parser_.emplace();
    parser_->body_limit(options_.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(options_.max_header_bytes));
    if (buffer_.size() > 0) return read_request();  // a pipelined request is already here
    stream_.expires_after(std::chrono::seconds(options_.idle_timeout_s));
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, size_t n) {
      if (ec) return self->close();
      self->buffer_.commit(n);
      self->read_request();
    });
  }

  void read_request() {
    stream_.expires_after(std::chrono::seconds(options_.request_timeout_s));
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset || ec == net::error::eof)
      return close();
    if (ec == http::error::body_limit)
      return send(HttpApi::error(413, "body", "larger than " + std::to_string(options_.max_body_bytes) + " bytes"), 11,
                  false, false);
    if (ec == http::error::header_limit)
      return send(HttpApi::error(431, "headers", "larger than " + std::to_string(options_.max_header_bytes) + " bytes"),
                  11, false, false);
    if (ec) return send(HttpApi::error(400, "request", "malformed HTTP request: " + ec.message()), 11, false, false);

    auto& req = parser_->get();
    if (auto bad = framing_problem(req)) return send(std::move(*bad), 11, false, false);
    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    if (auto auth = req.find(http::field::authorization); auth != req.end())
      request.authorization = std::string(auth->value());
    request.forwarded = req.find(kForwardedHeader) != req.end();
    request.body = std::move(req.body());
    const unsigned version = req.version();
    const bool keep_alive = req.keep_alive();
    const bool head = req.method() == http::verb::head;
    // No deadline while the engine works on it (a retrain request waits for training).
    stream_.expires_never();
    // The answer may come from another thread (durable ingest): hop back onto our strand.
    pending_.add();
    api_.handle(request, [self = shared_from_this(), version, keep_alive, head](HttpResponse r) mutable {
      PendingAnswers& pending = self->pending_;
      {
        // The session moves into the posted handler, and this copy of its strand executor dies
        // before done(): once done() lets stop() go on, this thread holds nothing of the
        // io_context's (a strand outliving it would unlink itself from a freed service).
        const auto executor = self->stream_.get_executor();
        net::post(executor, [self = std::move(self), r = std::move(r), version, keep_alive, head]() mutable {
          self->send(std::move(r), version, keep_alive, head);
        });
      }
      pending.done();  // after the post: stop() may now destroy the io_context
    });
  }

  // RFC 9112's rules Beast leaves to the server (an obsolete folded header it already reads as
  // one value with spaces, as section 5.2 allows): HTTP/1.1 carries exactly one Host; the only
  // transfer coding understood is chunked alone; a header that decides who the client is or
  // how the body is framed may not come twice (which one would count?).
  static std::optional<HttpResponse> framing_problem(const http::request<http::string_body>& req) {
    const size_t hosts = req.count(http::field::host);
    if ((req.version() >= 11 && hosts != 1) || hosts > 1)
      return HttpApi::error(400, "Host", "exactly one Host header is required (RFC 9112, section 3.2)");
    if (req.count(http::field::authorization) > 1) return HttpApi::error(400, "Authorization", "given more than once");
    if (req.count(http::field::content_length) > 1)
      return HttpApi::error(400, "Content-Length", "given more than once");
    const size_t codings = req.count(http::field::transfer_encoding);
    if (codings > 0) {
      std::string te(req[http::field::transfer_encoding]);
      for (char& c : te) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (codings > 1 || te != "chunked")
        return HttpApi::error(501, "Transfer-Encoding", "only 'chunked' alone is supported, got '" + te + "'");
    }
    return std::nullopt;
  }

  void send(HttpResponse r, unsigned version, bool keep_alive, bool head) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), version);
    res->set(http::field::server, "nudge");
    res->set(http::field::content_type, r.content_type);
    res->keep_alive(keep_alive);
    res->body() = std::move(r.body);
    res->prepare_payload();
    if (head) res->body().clear();  // HEAD: the GET answer's headers (Content-Length included), no body
    stream_.expires_after(std::chrono::seconds(options_.request_timeout_s));  // a client that never reads
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
  std::atomic<size_t>& open_connections_;
  PendingAnswers& pending_;
};

}  // namespace

struct HttpServer::Impl {
  Impl(HttpApi& a, HttpServerOptions o)
      : api(a), options(std::move(o)), ioc(resolve_threads(options.threads)), acceptor(net::make_strand(ioc)) {}

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      if (ec) {
        // Out of file descriptors (EMFILE) or similar: retrying at once would spin a core.
        spdlog::warn("http: accept failed: {}; retrying in 100 ms", ec.message());
        retry_timer.expires_after(std::chrono::milliseconds(100));
        retry_timer.async_wait([this](beast::error_code e) {
          if (!e) accept();
        });
        return;
      }
      if (open_connections.load() >= options.max_connections) {
        // A short, fixed answer fits the empty send buffer, so this write never blocks.
        static constexpr std::string_view kBusyBody = "{\"error\":\"too many open connections\"}\n";
        static const std::string kBusy =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: " +
            std::to_string(kBusyBody.size()) + "\r\nConnection: close\r\n\r\n" + std::string(kBusyBody);
        ++connections_refused;  // counted before the answer, which a client may read at once
        net::write(socket, net::buffer(kBusy.data(), kBusy.size()), ec);
        socket.shutdown(tcp::socket::shutdown_both, ec);
        socket.close(ec);
      } else {
        socket.set_option(tcp::no_delay(true), ec);
        std::make_shared<Session>(std::move(socket), api, options, open_connections, pending_answers)->start();
      }
      accept();
    });
  }

  // A thread's boundary: an exception escaping a handler is logged and the thread goes on.
  void run_thread() {
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("http: network thread: {}", e.what());
      } catch (...) {
        spdlog::error("http: network thread: unknown exception");
      }
    }
  }

  HttpApi& api;
  HttpServerOptions options;
  // Before ioc: sessions still queued in it when it is destroyed count themselves out here.
  std::atomic<size_t> open_connections{0};
  std::atomic<uint64_t> connections_refused{0};
  PendingAnswers pending_answers;
  net::io_context ioc;
  tcp::acceptor acceptor;
  net::steady_timer retry_timer{acceptor.get_executor()};
  std::vector<std::thread> threads;
  uint16_t port = 0;
};

HttpServer::HttpServer(HttpApi& api, HttpServerOptions options)
    : impl_(std::make_unique<Impl>(api, std::move(options))) {}

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
    return Status::io_error("cannot listen on " + s.options.host + ":" + std::to_string(s.options.port) + ": " +
                            ec.message());
  s.port = s.acceptor.local_endpoint().port();
  s.accept();
  const int n = resolve_threads(s.options.threads);
  for (int t = 0; t < n; ++t) s.threads.emplace_back([&s] { s.run_thread(); });
  return Status::ok();
}

uint16_t HttpServer::port() const { return impl_->port; }
size_t HttpServer::open_connections() const { return impl_->open_connections.load(); }
uint64_t HttpServer::connections_refused() const { return impl_->connections_refused.load(); }

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
  // Answers still owed (an ingest waiting for its commit, a retrain request) post into ioc:
  // they must have done so before it stops and is destroyed.
  s.pending_answers.wait_until_none();
  // A session whose last answer was just written may still have its final handler queued in
  // ioc; destroyed with ioc, it would outlive the strand service it refers to. Let those end
  // (a connection its client keeps open is cut after a moment).
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  while (s.open_connections.load() > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  s.ioc.stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
}

}  // namespace nudge::serve
