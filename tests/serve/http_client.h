// A blocking HTTP/1.1 client for the server tests (Boost.Beast), one keep-alive connection.
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <string>

namespace nudge::testing {

struct Reply {
  int status = 0;
  std::string body;
};

class HttpClient {
 public:
  explicit HttpClient(uint16_t port) : stream_(ioc_) {
    stream_.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  }
  Reply request(boost::beast::http::verb verb, const std::string& target, const std::string& body = "",
                const std::string& bearer = "") {
    namespace http = boost::beast::http;
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!bearer.empty()) req.set(http::field::authorization, "Bearer " + bearer);
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    http::write(stream_, req);
    boost::beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    http::read(stream_, buffer, parser);
    return {static_cast<int>(parser.get().result_int()), parser.get().body()};
  }
  Reply get(const std::string& target) { return request(boost::beast::http::verb::get, target); }
  Reply post(const std::string& target, const std::string& body) {
    return request(boost::beast::http::verb::post, target, body);
  }

 private:
  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_;
};

}  // namespace nudge::testing
