// The JSON form of events shared by POST /v1/events and Kafka messages: one object or a
// list, every error naming its field. (Signs and IDs are checked later, by Engine::validate.)
#include "serve/event_json.h"

#include <gtest/gtest.h>

namespace nudge::serve {
namespace {

TEST(EventJson, OneObjectOrAList) {
  auto one = parse_events(R"({"user":"u","item":"i","type":"buy","value":2.5,"timestamp":1700000000})", 10);
  ASSERT_TRUE(one.is_ok()) << one.status().to_string();
  ASSERT_EQ(one.value().size(), 1u);
  EXPECT_EQ(one.value()[0], (Event{"u", "i", "buy", 2.5f, 1700000000}));
  auto list = parse_events(R"({"events":[{"user":"a","item":"x"},{"user":"b","item":"y"}]})", 10);
  ASSERT_TRUE(list.is_ok());
  EXPECT_EQ(list.value()[1].user, "b");
  EXPECT_EQ(list.value()[1].type, "view");  // the default
  EXPECT_TRUE(parse_events(R"([{"user":"a","item":"x"}])", 10).is_ok());
}

TEST(EventJson, ErrorsNameTheField) {
  EXPECT_EQ(parse_events(R"({"user":"u"})", 10).status().field(), "event.item");
  EXPECT_EQ(
      parse_events(R"({"events":[{"user":"u","item":"i"},{"user":"u","item":"i","value":"x"}]})", 10).status().field(),
      "events[1].value");
  EXPECT_EQ(parse_events(R"({"user":"u","item":"i","value":1e300})", 10).status().field(), "event.value");
  EXPECT_EQ(parse_events(R"({"user":"u","item":"i","when":3})", 10).status().field(), "event.when");
  EXPECT_EQ(parse_events(R"({"user":"u","item":"i","timestamp":1.5})", 10).status().field(), "event.timestamp");
  EXPECT_EQ(parse_events("{not json", 10).status().field(), "body");
  EXPECT_EQ(parse_events("", 10).status().field(), "body");
  EXPECT_EQ(parse_events("1e400", 10).status().field(), "body");
  EXPECT_EQ(parse_events(R"({"events":[]})", 10).status().field(), "events");
  EXPECT_EQ(parse_events(R"({"events":[{"user":"u","item":"i"}],"x":1})", 10).status().field(), "body");
  const auto many = parse_events(R"([{"user":"u","item":"i"},{"user":"u","item":"i"}])", 1);
  EXPECT_EQ(many.status().code(), Status::Code::kTooLarge);
  EXPECT_EQ(many.status().field(), "events");
}

}  // namespace
}  // namespace nudge::serve
