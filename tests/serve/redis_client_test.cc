// RedisClient against a real redis-server: replies, error replies naming the server,
// reconnection after the server comes back, and addresses it refuses.
#include "serve/redis_client.h"

#include <gtest/gtest.h>

#include "redis_server.h"
#include "test_util.h"

namespace nudge::serve {
namespace {

using nudge::testing::RedisServer;

TEST(RedisClientTest, CommandsErrorsAndAddresses) {
  RedisServer server;
  auto client = RedisClient::connect({server.address(), 500}).value();
  ASSERT_OK(client->command({"SET", "k", std::string("v\0w", 3)}).status());
  EXPECT_EQ(client->command({"GET", "k"}).value().text, std::string("v\0w", 3));  // binary safe
  EXPECT_EQ(client->command({"GET", "missing"}).value().type, RedisReply::Type::kNil);
  const auto wrong = client->command({"GET"});  // an error reply, named with the server
  ASSERT_FALSE(wrong.is_ok());
  EXPECT_NE(wrong.status().message().find("redis " + server.address()), std::string::npos);

  // The connection breaks; the next command after the server is back reconnects.
  server.stop();
  EXPECT_FALSE(client->command({"PING"}).is_ok());
  server.start();
  EXPECT_TRUE(client->command({"PING"}).is_ok());

  const auto closed = RedisClient::connect({"127.0.0.1:1", 500});
  ASSERT_FALSE(closed.is_ok());
  EXPECT_NE(closed.status().message().find("redis 127.0.0.1:1"), std::string::npos) << closed.status().to_string();
  EXPECT_EQ(RedisClient::connect({"no-port", 500}).status().field(), "redis");
}

}  // namespace
}  // namespace nudge::serve
