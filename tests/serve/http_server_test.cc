// The network layer in-process on a loopback port: keep-alive, the body limit, malformed
// HTTP, answers that come from the ingest thread, binding errors and stop().
#include "serve/http_server.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <sys/resource.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "http_client.h"
#include "test_util.h"

namespace nudge::serve {
namespace {

using boost::beast::http::verb;
using nudge::testing::HttpClient;

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineOptions o;
    o.data_dir = dir_.file("data");
    o.model.spec = "ials:factors=4";
    o.retrain_interval_s = 0;
    o.retrain_after_events = 0;
    engine_ = Engine::open(o).value();
    api_ = std::make_unique<HttpApi>(*engine_, HttpApiOptions{});
    HttpServerOptions so;
    so.port = 0;
    so.threads = 2;
    so.max_body_bytes = 1024;
    server_ = std::make_unique<HttpServer>(*api_, so);
    ASSERT_TRUE(server_->start().is_ok());
    ASSERT_NE(server_->port(), 0);
  }
  // Replaces the server by one with these limits (same engine and API).
  void restart(HttpServerOptions so) {
    server_.reset();
    so.port = 0;
    server_ = std::make_unique<HttpServer>(*api_, so);
    ASSERT_TRUE(server_->start().is_ok());
  }
  boost::asio::ip::tcp::endpoint endpoint() const {
    return {boost::asio::ip::make_address("127.0.0.1"), server_->port()};
  }
  // Polls until the server counts `n` open connections (accepting is asynchronous).
  bool wait_for_open_connections(size_t n) {
    for (int tries = 0; tries < 500 && server_->open_connections() != n; ++tries)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return server_->open_connections() == n;
  }
  // Writes raw bytes and reads until the server closes the connection.
  std::string raw_exchange(const std::string& bytes) {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket socket(ioc);
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), server_->port()});
    boost::asio::write(socket, boost::asio::buffer(bytes));
    std::string reply;
    boost::system::error_code ec;
    boost::asio::read(socket, boost::asio::dynamic_buffer(reply), ec);
    return reply;
  }
  nudge::testing::TempDir dir_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<HttpApi> api_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, KeepAliveCarriesManyRequestsIncludingDurableIngest) {
  HttpClient client(server_->port());
  for (int n = 0; n < 20; ++n) {
    // Ingest answers from the store's committer thread; the reply must still come back in order.
    const auto posted = client.post("/v1/events", R"({"user":"u)" + std::to_string(n) + R"(","item":"a"})");
    ASSERT_EQ(posted.status, 200) << posted.body;
    EXPECT_EQ(posted.body, R"({"accepted":1})");
    EXPECT_EQ(client.get("/healthz").status, 200);
  }
  EXPECT_EQ(engine_->stats().events, 20u);
}

TEST_F(HttpServerTest, BodiesOverTheLimitGet413AndStoreNothing) {
  HttpClient client(server_->port());
  std::string events = "[";
  for (int n = 0; n < 40; ++n)
    events += std::string(n ? "," : "") + R"({"user":"u","item":"item)" + std::to_string(n) + "\"}";
  events += "]";
  ASSERT_GT(events.size(), 1024u);
  const auto r = client.post("/v1/events", events);
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find(R"("field":"body")"), std::string::npos) << r.body;
  EXPECT_EQ(engine_->stats().events, 0u);
  HttpClient next(server_->port());  // the server is still serving
  EXPECT_EQ(next.get("/healthz").status, 200);
}

TEST_F(HttpServerTest, MalformedHttpGets400AndTheConnectionCloses) {
  const std::string reply = raw_exchange("NOT AN HTTP REQUEST\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
  EXPECT_NE(reply.find("malformed HTTP request"), std::string::npos) << reply;
  const std::string chunked =
      raw_exchange("POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n");
  EXPECT_EQ(chunked.rfind("HTTP/1.1 400", 0), 0u) << chunked;
  HttpClient client(server_->port());
  EXPECT_EQ(client.get("/healthz").status, 200);
}

// RFC 9112 framing: what another hop may read differently is refused, nothing stored.
TEST_F(HttpServerTest, AmbiguousFramingAndHeadersAreRefused) {
  const std::string event = R"({"user":"u","item":"a"})";
  const std::string length = "Content-Length: " + std::to_string(event.size()) + "\r\n\r\n" + event;
  const std::pair<std::string, std::string> cases[] = {
      {"POST /v1/events HTTP/1.1\r\n" + length, "HTTP/1.1 400"},                        // no Host
      {"POST /v1/events HTTP/1.1\r\nHost: a\r\nHost: b\r\n" + length, "HTTP/1.1 400"},  // two
      {"POST /v1/events HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer x\r\nAuthorization: Bearer y\r\n" + length,
       "HTTP/1.1 400"},
      {"POST /v1/events HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" +
           fmt::format("{:x}\r\n{}\r\n0\r\n\r\n", event.size(), event),
       "HTTP/1.1 501"},
  };
  for (const auto& [request, status] : cases) {
    const std::string reply = raw_exchange(request);
    EXPECT_EQ(reply.rfind(status, 0), 0u) << request << "\n-> " << reply;
  }
  EXPECT_EQ(raw_exchange("GET /healthz HTTP/1.0\r\n\r\n").rfind("HTTP/1.0 200", 0), 0u);  // 1.0 needs no Host
  const std::string chunked =
      raw_exchange("POST /v1/events HTTP/1.1\r\nHost: a\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n" +
                   fmt::format("{:x}\r\n{}\r\n0\r\n\r\n", event.size(), event));
  EXPECT_EQ(chunked.rfind("HTTP/1.1 200", 0), 0u) << chunked;
  EXPECT_EQ(engine_->stats().events, 1u);  // only the plain chunked one
}

TEST_F(HttpServerTest, HttpOneZeroWithoutKeepAliveIsClosedAfterTheAnswer) {
  const std::string reply = raw_exchange("GET /healthz HTTP/1.0\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.0 200", 0), 0u) << reply;
}

TEST_F(HttpServerTest, APortInUseIsAnErrorNamingIt) {
  HttpServerOptions so;
  so.port = server_->port();
  HttpServer second(*api_, so);
  // SO_REUSEADDR does not allow two listeners on one port.
  const Status st = second.start();
  EXPECT_FALSE(st.is_ok());
  EXPECT_NE(st.to_string().find(":" + std::to_string(so.port)), std::string::npos) << st.to_string();
  HttpServerOptions bad;
  bad.host = "not-an-address";
  EXPECT_FALSE(HttpServer(*api_, bad).start().is_ok());
}

TEST_F(HttpServerTest, StopClosesTheListenerAndIsIdempotent) {
  const uint16_t port = server_->port();
  server_->stop();
  server_->stop();
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket socket(ioc);
  boost::system::error_code ec;
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
  EXPECT_TRUE(ec) << "still accepting after stop()";
}

}  // namespace
TEST_F(HttpServerTest, HeadersOverTheLimitGet431) {
  const std::string reply =
      raw_exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: " + std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 431", 0), 0u) << reply.substr(0, 200);
  EXPECT_NE(reply.find(R"("field":"headers")"), std::string::npos) << reply;
  HttpClient client(server_->port());
  EXPECT_EQ(client.get("/healthz").status, 200);
}

TEST_F(HttpServerTest, HeadAnswersHeadersOnly) {
  const std::string reply = raw_exchange("HEAD /healthz HTTP/1.0\r\n\r\n");
  ASSERT_EQ(reply.rfind("HTTP/1.0 200", 0), 0u) << reply;
  const size_t end_of_headers = reply.find("\r\n\r\n");
  ASSERT_NE(end_of_headers, std::string::npos) << reply;
  EXPECT_EQ(reply.size(), end_of_headers + 4) << "HEAD sent a body: " << reply;
}

TEST_F(HttpServerTest, ConnectionsOverTheLimitGet503AndTheServerRecovers) {
  HttpServerOptions so;
  so.threads = 2;
  so.max_connections = 3;
  restart(so);
  boost::asio::io_context ioc;
  std::vector<boost::asio::ip::tcp::socket> held;
  for (int n = 0; n < 3; ++n) {
    held.emplace_back(ioc);
    held.back().connect(endpoint());
  }
  ASSERT_TRUE(wait_for_open_connections(3));
  const std::string refused = raw_exchange("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(refused.rfind("HTTP/1.1 503", 0), 0u) << refused;
  EXPECT_NE(refused.find("too many open connections"), std::string::npos) << refused;
  const size_t body_at = refused.find("\r\n\r\n") + 4;
  EXPECT_NE(refused.find("Content-Length: " + std::to_string(refused.size() - body_at) + "\r\n"), std::string::npos)
      << refused;
  EXPECT_EQ(server_->connections_refused(), 1u);
  held.clear();  // the held connections go away: the server accepts again
  ASSERT_TRUE(wait_for_open_connections(0));
  HttpClient client(server_->port());
  EXPECT_EQ(client.get("/healthz").status, 200);
}

TEST_F(HttpServerTest, FiveHundredIdleConnectionsDoNotStopTheServer) {
  // Both ends live in this process: 1000 descriptors and more, above a default soft limit of 1024.
  rlimit files{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &files), 0);
  files.rlim_cur = std::min<rlim_t>(files.rlim_max, 4096);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &files), 0);
  ASSERT_GE(files.rlim_cur, 1100u) << "the hard limit on open files is too low for this test";
  boost::asio::io_context ioc;
  std::vector<boost::asio::ip::tcp::socket> idle;
  for (int n = 0; n < 500; ++n) {
    idle.emplace_back(ioc);
    idle.back().connect(endpoint());
  }
  ASSERT_TRUE(wait_for_open_connections(500));
  HttpClient client(server_->port());
  EXPECT_EQ(client.get("/healthz").status, 200);
  EXPECT_EQ(client.post("/v1/events", R"({"user":"u","item":"a"})").status, 200);
}

TEST_F(HttpServerTest, IdleAndSlowClientsAreClosedAtTheirDeadlines) {
  HttpServerOptions so;
  so.threads = 2;
  so.idle_timeout_s = 1;
  so.request_timeout_s = 1;
  restart(so);
  boost::asio::io_context ioc;
  // Idle: connects and never sends; the server hangs up.
  boost::asio::ip::tcp::socket idle(ioc);
  idle.connect(endpoint());
  char byte;
  boost::system::error_code ec;
  boost::asio::read(idle, boost::asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, boost::asio::error::eof);
  // Slowloris: keeps sending one header byte every 100 ms for up to 10 s; the server must hang
  // up at the request deadline, long before the client would finish.
  boost::asio::ip::tcp::socket slow(ioc);
  slow.connect(endpoint());
  std::atomic<bool> closed{false};
  std::thread reader([&] {
    boost::system::error_code read_ec;
    boost::asio::read(slow, boost::asio::buffer(&byte, 1), read_ec);
    closed = true;
  });
  const std::string start = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  boost::asio::write(slow, boost::asio::buffer(start), ec);
  for (int n = 0; n < 100 && !closed; ++n) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    boost::asio::write(slow, boost::asio::buffer("a", 1), ec);
  }
  const bool closed_while_trickling = closed;
  if (!closed) slow.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  reader.join();
  EXPECT_TRUE(closed_while_trickling) << "a slow client held its connection for 10 s";
  HttpClient client(server_->port());
  EXPECT_EQ(client.get("/healthz").status, 200);
}

}  // namespace nudge::serve
