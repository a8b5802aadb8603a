// Routing, parsing and error codes of the HTTP API, called directly (no sockets).
#include "serve/http_api.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "nudge/serve/import.h"
#include "nudge/synth.h"
#include "serve/experiment.h"
#include "serve/fault_file_system.h"
#include "test_util.h"

namespace nudge::serve {
namespace {

using nlohmann::json;

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineOptions o;
    o.data_dir = dir_.file("data");
    o.model.spec = "ials:factors=8";
    o.retrain_interval_s = 0;
    o.retrain_after_events = 0;
    engine_ = Engine::open(o).value();
    api_ = std::make_unique<HttpApi>(*engine_, HttpApiOptions{"secret"});
  }
  HttpResponse call(std::string method, std::string target, std::string body = "", std::string auth = "Bearer secret") {
    std::promise<HttpResponse> p;
    api_->handle({std::move(method), std::move(target), std::move(auth), std::move(body)},
                 [&](HttpResponse r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  void expect_error(const HttpResponse& r, int status, const std::string& field) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(json::parse(r.body).value("field", ""), field) << r.body;
  }
  nudge::testing::TempDir dir_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<HttpApi> api_;
};

TEST_F(HttpApiTest, EventsInEveryShape) {
  EXPECT_EQ(call("POST", "/v1/events", R"({"user":"u","item":"a"})").body, R"({"accepted":1})");
  EXPECT_EQ(call("POST", "/v1/events",
                 R"([{"user":"u","item":"b"},{"user":"v","item":"a","type":"cart","value":2,"timestamp":1700000000}])")
                .body,
            R"({"accepted":2})");
  EXPECT_EQ(call("POST", "/v1/events", R"({"events":[{"user":"w","item":"a"}]})").body, R"({"accepted":1})");
  EXPECT_EQ(engine_->stats().events, 4u);
}

TEST_F(HttpApiTest, BadEventsNameTheField) {
  expect_error(call("POST", "/v1/events", "[1,2"), 400, "body");
  expect_error(call("POST", "/v1/events", "[]"), 400, "events");
  expect_error(call("POST", "/v1/events", "42"), 400, "events");
  expect_error(call("POST", "/v1/events", R"([{"user":"u","item":"a"}, 5])"), 400, "events[1]");
  expect_error(call("POST", "/v1/events", R"({"user":7,"item":"a"})"), 400, "event.user");
  expect_error(call("POST", "/v1/events", R"({"item":"a"})"), 400, "event.user");
  expect_error(call("POST", "/v1/events", R"({"user":"u","item":"a","timestamp":1.5})"), 400, "event.timestamp");
  expect_error(call("POST", "/v1/events", R"({"user":"u","item":"a","timestamp":-3})"), 400, "events[0].timestamp");
  expect_error(call("POST", "/v1/events", R"({"user":"u","item":")" + std::string(300, 'x') + "\"}"), 400,
               "events[0].item");
  expect_error(call("POST", "/v1/events", R"({"events":[],"extra":1})"), 400, "body");
  expect_error(call("POST", "/v1/events", R"({"user":"u","item":"a"})", ""), 401, "Authorization");
  EXPECT_EQ(engine_->stats().events, 0u);  // none of them stored
}

// In a Kafka deployment the events go to the topic (KafkaProducer) instead of the store: only
// valid events reach the sink, and the answer waits for it.
TEST_F(HttpApiTest, EventsGoToTheSinkWhenOneIsSetAndItsErrorIsTheAnswer) {
  std::vector<Event> sunk;
  Status outcome;
  api_->set_event_sink([&](std::vector<Event> events, std::function<void(const Status&)> done) {
    sunk.insert(sunk.end(), events.begin(), events.end());
    std::thread([done, outcome] { done(outcome); }).detach();  // answered later, on another thread
  });
  EXPECT_EQ(call("POST", "/v1/events", R"([{"user":"u","item":"a"},{"user":"v","item":"b","value":2}])").body,
            R"({"accepted":2})");
  ASSERT_EQ(sunk.size(), 2u);
  EXPECT_EQ(sunk[1].user, "v");
  EXPECT_EQ(sunk[1].value, 2.f);
  expect_error(call("POST", "/v1/events", R"({"user":"u","item":"a","value":-1})"), 400, "events[0].value");
  EXPECT_EQ(sunk.size(), 2u);  // refused before the sink
  outcome = Status::io_error("kafka: topic 'events' on b:9092: not delivered: Local: Message timed out");
  const HttpResponse failed = call("POST", "/v1/events", R"({"user":"u","item":"c"})");
  EXPECT_EQ(failed.status, 500);
  EXPECT_NE(failed.body.find("not delivered"), std::string::npos) << failed.body;
  EXPECT_EQ(engine_->stats().events, 0u);  // the local store was never the path
}

TEST_F(HttpApiTest, RecommendParameters) {
  call("POST", "/v1/events", R"([{"user":"u","item":"a"},{"user":"v","item":"b"}])");
  auto r = call("GET",
                "/v1/recommend?user=u&k=5&exclude=b,c&category=x&tag=t&price_min=1&price_max=2&pin=a:1"
                "&boost=tag:t:0.5&max_per_category=2&mmr=0.5&explain=true&exclude_seen=false");
  EXPECT_EQ(r.status, 200) << r.body;
  expect_error(call("GET", "/v1/recommend?user=u&k=0"), 400, "k");
  expect_error(call("GET", "/v1/recommend?user=u&k=-1"), 400, "k");
  expect_error(call("GET", "/v1/recommend?user=u&price_min=nan"), 400, "price_min");
  expect_error(call("GET", "/v1/recommend?user=u&price_min=3&price_max=2"), 400, "price_min");
  expect_error(call("GET", "/v1/recommend?user=u&pin=a"), 400, "pin");
  expect_error(call("GET", "/v1/recommend?user=u&pin=a:0"), 400, "pin");
  expect_error(call("GET", "/v1/recommend?user=u&boost=colour:red:1"), 400, "boost");
  expect_error(call("GET", "/v1/recommend?user=u&boost=tag:red:x"), 400, "boost");
  expect_error(call("GET", "/v1/recommend?user=u&mmr=1.5"), 400, "mmr");
  expect_error(call("GET", "/v1/recommend?user=u&explain=maybe"), 400, "explain");
  expect_error(call("GET", "/v1/recommend?user=%zz"), 400, "user");
}

TEST_F(HttpApiTest, ItemsAndUsers) {
  EXPECT_EQ(call("PUT", "/v1/items/a%20b", R"({"category":"c","tags":["x"],"price":null})").status, 200);
  expect_error(call("PUT", "/v1/items/a", R"({"tags":"x"})"), 400, "tags");
  expect_error(call("PUT", "/v1/items/a", R"({"tags":[1]})"), 400, "tags[0]");
  expect_error(call("PUT", "/v1/items/a", R"({"price":1e300})"), 400, "price");
  expect_error(call("PUT", "/v1/items/a", R"({"size":3})"), 400, "size");
  expect_error(call("PUT", "/v1/items/", "{}"), 400, "id");
  EXPECT_EQ(call("DELETE", "/v1/items/a%20b").status, 200);
  expect_error(call("DELETE", "/v1/items/zz"), 404, "id");
  EXPECT_EQ(call("PUT", "/v1/users/u", R"({"segment":"s1"})").status, 200);
  expect_error(call("PUT", "/v1/users/u", "[1]"), 400, "body");
  auto r = call("GET", "/v1/users/u");
  EXPECT_EQ(json::parse(r.body)["attributes"]["segment"], "s1");
  expect_error(call("GET", "/v1/users/x"), 404, "id");
  expect_error(call("PATCH", "/v1/users/u"), 405, "method");
}

TEST_F(HttpApiTest, HealthMetricsRetrain) {
  call("POST", "/v1/events", R"([{"user":"u","item":"a"},{"user":"u","item":"b"},{"user":"v","item":"a"}])");
  auto r = call("POST", "/v1/retrain");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["model_version"], 1);
  EXPECT_EQ(json::parse(call("GET", "/healthz").body)["model_version"], 1);
  const std::string m = call("GET", "/metrics").body;
  EXPECT_NE(m.find("nudge_events_ingested_total 3\n"), std::string::npos) << m;
  EXPECT_NE(m.find("nudge_model_version 1\n"), std::string::npos);
  EXPECT_NE(m.find("nudge_http_requests_total{endpoint=\"retrain\",code=\"2xx\"} 1\n"), std::string::npos);
  EXPECT_NE(m.find("nudge_http_request_duration_seconds_count{endpoint=\"events\"} 1\n"), std::string::npos);
  expect_error(call("GET", "/nothing"), 404, "path");
}

TEST_F(HttpApiTest, ModelEndpointAndMetricsNameTheServedKind) {
  expect_error(call("GET", "/v1/model"), 404, "model");
  call("POST", "/v1/events", R"([{"user":"u","item":"a"},{"user":"u","item":"b"},{"user":"v","item":"a"}])");
  ASSERT_EQ(call("POST", "/v1/retrain").status, 200);
  const auto r = call("GET", "/v1/model");
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = json::parse(r.body);
  EXPECT_EQ(j["model_version"], 1);
  EXPECT_EQ(j["kind"], "ials");
  EXPECT_EQ(j["spec"].get<std::string>().rfind("ials:", 0), 0u) << j["spec"];
  EXPECT_TRUE(j["fusion_weights"].empty());
  EXPECT_NE(call("GET", "/metrics").body.find("nudge_model_info{kind=\"ials\"} 1\n"), std::string::npos);
  expect_error(call("POST", "/v1/model"), 405, "method");
}

// A served fusion over HTTP: its tuned weights in /v1/model and /metrics, and per-component
// scores in explanations.
TEST(HttpApiFusion, ModelWeightsAndComponentExplanations) {
  nudge::testing::TempDir dir;
  EngineOptions o;
  o.data_dir = dir.file("data");
  o.model.spec = "fusion:models=ials+ease,ials.factors=8,ials.threads=1";
  o.retrain_interval_s = 0;
  o.retrain_after_events = 0;
  auto engine = Engine::open(o).value();
  SynthOptions so;
  so.num_users = 200;
  so.num_items = 100;
  so.num_interactions = 4000;
  so.seed = 3;
  ASSERT_TRUE(import_dataset(*engine, synthesize(so).value().dataset).is_ok());
  ASSERT_TRUE(engine->retrain().is_ok());
  HttpApi api(*engine, HttpApiOptions{});
  auto call = [&](std::string method, std::string target) {
    std::promise<HttpResponse> p;
    api.handle({std::move(method), std::move(target), "", ""}, [&](HttpResponse r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  };
  const json model = json::parse(call("GET", "/v1/model").body);
  EXPECT_EQ(model["kind"], "fusion");
  ASSERT_TRUE(model["fusion_weights"].contains("ials"));
  ASSERT_TRUE(model["fusion_weights"].contains("ease"));
  const std::string metrics = call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("nudge_fusion_weight{component=\"ease\"} "), std::string::npos) << metrics;
  const auto r = call("GET", "/v1/recommend?user=u1&k=3&explain=true");
  ASSERT_EQ(r.status, 200) << r.body;
  const json items = json::parse(r.body)["items"];
  ASSERT_EQ(items.size(), 3u);
  for (const auto& item : items) {
    EXPECT_EQ(item["reason"], "similar_items") << item;
    EXPECT_TRUE(item["components"].contains("ials")) << item;
    EXPECT_TRUE(item["components"].contains("ease")) << item;
    EXPECT_FALSE(item["because"].empty()) << item;
  }
}

// Each request below aborted the first-wave server (issue #11). Every one must now be a 400
// naming the field, with nothing stored, and the engine must still answer afterwards.
TEST_F(HttpApiTest, InvalidUtf8AnywhereIsA400AndNothingIsStored) {
  expect_error(call("GET", "/v1/recommend?user=%FF"), 400, "user");
  expect_error(call("GET", "/v1/recommend?user=u&exclude=a,%C0%80"), 400, "exclude");
  expect_error(call("GET", "/v1/recommend?user=u&boost=category:%FF:1"), 400, "boost");
  expect_error(call("GET", "/v1/recommend?user=u&%FF=1"), 400, "query");
  expect_error(call("GET", "/v1/similar?item=%ED%A0%80"), 400, "item");
  expect_error(call("PUT", "/v1/items/%FF", "{}"), 400, "id");
  expect_error(call("PUT", "/v1/users/%FF", "{}"), 400, "id");
  expect_error(call("GET", "/v1/users/%FF"), 400, "id");
  expect_error(call("DELETE", "/v1/items/%FF"), 400, "id");
  expect_error(call("GET", "/v1/%FF"), 400, "path");
  // Raw invalid bytes in a JSON body are malformed JSON (JSON text is UTF-8).
  expect_error(call("POST", "/v1/events", "{\"user\":\"u\xff\",\"item\":\"a\"}"), 400, "body");
  expect_error(call("PUT", "/v1/items/a", "{\"category\":\"\xff\"}"), 400, "body");
  const EngineStats st = engine_->stats();
  EXPECT_EQ(st.items, 0u);
  EXPECT_EQ(st.users, 0u);
  EXPECT_EQ(st.events, 0u);
  EXPECT_EQ(call("GET", "/v1/recommend?user=u").status, 200);
}

// Issue #28: each of these killed or fooled the server before.
TEST_F(HttpApiTest, DeepNestingIsRefusedBeforeParsingOnEveryBody) {
  const std::string deep = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  for (const char* path : {"/v1/users/x", "/v1/items/x"}) {
    const auto r = call("PUT", path, deep);
    expect_error(r, 400, "body");
  }
  expect_error(call("POST", "/v1/events", deep), 400, "body");
  // Just past the limit (64 levels), and at it.
  const std::string past = "{\"a\":" + std::string(64, '[') + std::string(64, ']') + "}";
  const auto r = call("PUT", "/v1/users/x", past);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"], "malformed JSON: nested deeper than 64 levels at byte 69") << r.body;
  const std::string at = "{\"a\":" + std::string(63, '[') + std::string(63, ']') + "}";
  EXPECT_EQ(call("PUT", "/v1/users/x", at).status, 200);
  // Brackets inside strings are text, not nesting.
  EXPECT_EQ(call("PUT", "/v1/users/y", "{\"a\":\"" + std::string(1000, '[') + "\"}").status, 200);
}

TEST_F(HttpApiTest, AnEmptyUserBodyIsRefusedAndKeepsTheAttributes) {
  ASSERT_EQ(call("PUT", "/v1/users/u1", R"({"segment":"s1"})").status, 200);
  expect_error(call("PUT", "/v1/users/u1", ""), 400, "body");
  EXPECT_EQ(engine_->user_info("u1")->attributes_json, R"({"segment":"s1"})");
  // Too large is refused before it is parsed.
  expect_error(call("PUT", "/v1/users/u1", "{\"a\":\"" + std::string(70000, 'x') + "\"}"), 400, "body");
  EXPECT_EQ(call("PUT", "/v1/users/u1", "{}").status, 200);  // {} clears them
  EXPECT_EQ(engine_->user_info("u1")->attributes_json, "{}");
}

TEST_F(HttpApiTest, BytesAfterANulAreNotIgnored) {
  const std::string body = std::string(R"({"user":"a","item":"b"})") + '\0' + "garbage";
  const auto r = call("POST", "/v1/events", body);
  expect_error(r, 400, "body");
  EXPECT_EQ(json::parse(r.body)["error"], "malformed JSON: NUL byte at byte 24");
  expect_error(call("PUT", "/v1/users/u", std::string("{}") + '\0'), 400, "body");
  expect_error(call("PUT", "/v1/items/i", std::string("{}") + '\0'), 400, "body");
  EXPECT_EQ(engine_->stats().events, 0u);
}

TEST_F(HttpApiTest, OneValidationTableForEveryRoute) {
  const std::string long_id(257, 'a');
  expect_error(call("GET", "/v1/recommend?user=" + long_id), 400, "user");
  expect_error(call("GET", "/v1/similar?item=" + long_id), 400, "item");
  expect_error(call("GET", "/v1/recommend?user=u&exclude=a," + long_id), 400, "exclude");
  expect_error(call("GET", "/v1/recommend?user=u&category=" + long_id), 400, "category");
  expect_error(call("GET", "/v1/recommend?user=u&tag=" + long_id), 400, "tag");
  expect_error(call("GET", "/v1/recommend?user=u&pin=" + long_id + ":1"), 400, "pin");
  expect_error(call("GET", "/v1/recommend?user=u&boost=tag:" + long_id + ":1"), 400, "boost");
  // Repeated single parameters are refused, lists may repeat.
  expect_error(call("GET", "/v1/recommend?user=u1&k=5&k=2"), 400, "k");
  expect_error(call("GET", "/v1/recommend?user=u1&user=u2"), 400, "user");
  EXPECT_EQ(call("GET", "/v1/recommend?user=u1&exclude=a&exclude=b").status, 200);
  // Unknown parameters are refused on every route.
  expect_error(call("PUT", "/v1/items/i?colour=red", "{}"), 400, "colour");
  expect_error(call("DELETE", "/v1/items/i?x=1"), 400, "x");
  expect_error(call("PUT", "/v1/users/u?x=1", "{}"), 400, "x");
  expect_error(call("GET", "/v1/users/u?x=1"), 400, "x");
  expect_error(call("POST", "/v1/events?x=1", R"({"user":"u","item":"a"})"), 400, "x");
  expect_error(call("GET", "/healthz?x=1"), 400, "x");
  expect_error(call("GET", "/v1/model?x=1"), 400, "x");
  EXPECT_EQ(engine_->stats().events, 0u);
  EXPECT_EQ(engine_->stats().items, 0u);
  // An empty tag is no tag.
  ASSERT_EQ(call("PUT", "/v1/items/i", R"({"tags":["", "red"]})").status, 200);
}

// A full disk: 507 with the store's error, nothing acknowledged, reads served, /healthz
// degraded; then writes resume by themselves.
TEST(HttpApiDiskTest, AFullDiskIs507AndHealthzSaysDegraded) {
  nudge::testing::TempDir dir;
  auto disk = std::make_shared<FaultFileSystem>();
  EngineOptions o;
  o.data_dir = dir.file("data");
  o.model.spec = "popularity";
  o.retrain_interval_s = 0;
  o.retrain_after_events = 0;
  o.store.file_system = disk;
  o.store.recovery_interval_s = 0.02;
  auto engine = Engine::open(o).value();
  HttpApi api(*engine, HttpApiOptions{});
  auto call = [&](std::string method, std::string target, std::string body = "") {
    std::promise<HttpResponse> p;
    api.handle({std::move(method), std::move(target), "", std::move(body)},
               [&](HttpResponse r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  };
  ASSERT_EQ(call("POST", "/v1/events", R"({"user":"u","item":"a"})").status, 200);
  disk->set_space_left(0);
  auto r = call("POST", "/v1/events", R"({"user":"u","item":"b"})");
  EXPECT_EQ(r.status, 507) << r.body;
  EXPECT_NE(json::parse(r.body)["error"].get<std::string>().find("not taking writes"), std::string::npos) << r.body;
  EXPECT_EQ(call("PUT", "/v1/items/a", R"({"category":"c"})").status, 507);
  EXPECT_EQ(call("PUT", "/v1/users/u", R"({"segment":"s"})").status, 507);
  const json health = json::parse(call("GET", "/healthz").body);
  EXPECT_EQ(health["status"], "degraded") << health;
  EXPECT_EQ(health["store"]["writable"], false) << health;
  EXPECT_EQ(call("GET", "/v1/users/u").status, 200);
  EXPECT_EQ(call("GET", "/v1/recommend?user=u").status, 200);
  EXPECT_EQ(engine->user_info("u")->history.size(), 1u);  // the refused event is not there
  disk->set_space_left(FaultFileSystem::kUnlimited);
  ASSERT_TRUE(nudge::testing::eventually([&] { return json::parse(call("GET", "/healthz").body)["status"] == "ok"; }));
  EXPECT_EQ(call("POST", "/v1/events", R"({"user":"u","item":"b"})").status, 200);
  EXPECT_EQ(engine->stats().events, 2u);
  const std::string metrics = call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("nudge_store_writable 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("nudge_store_recoveries_total 1\n"), std::string::npos);
}

TEST_F(HttpApiTest, NumbersOutOfRangeAre400sAnywhereInTheBody) {
  expect_error(call("POST", "/v1/events", R"({"user":"u","item":"a","value":1e400})"), 400, "body");
  expect_error(call("POST", "/v1/events", R"({"user":"u","item":"a","value":)" + std::string(400, '9') + "}"), 400,
               "body");
  expect_error(call("POST", "/v1/events", R"({"user":"u","item":"a","colour":-1e400})"), 400, "body");
  expect_error(call("PUT", "/v1/items/a", R"({"price":1e400})"), 400, "body");
  expect_error(call("PUT", "/v1/users/u", R"({"age":1e400})"), 400, "body");
  const auto r = call("POST", "/v1/events", R"({"user":"u","item":"a","value":1e400})");
  EXPECT_EQ(json::parse(r.body)["error"], "malformed JSON: number overflow parsing '1e400'") << r.body;
  // Finite for a double, out of our range (a float would be inf after the type's weight).
  expect_error(call("POST", "/v1/events", R"({"user":"u","item":"a","value":1e38})"), 400, "event.value");
  expect_error(call("POST", "/v1/events", R"({"user":"u","item":"a","timestamp":9223372036854775807})"), 400,
               "events[0].timestamp");
  expect_error(call("PUT", "/v1/items/a", R"({"price":1e38})"), 400, "price");
  EXPECT_EQ(engine_->stats().events, 0u);
  EXPECT_EQ(engine_->stats().items, 0u);
}

TEST_F(HttpApiTest, ListsBatchesAndKAreBounded) {
  expect_error(call("GET", "/v1/recommend?user=u&k=1001"), 400, "k");
  expect_error(call("GET", "/v1/recommend?user=u&k=-1"), 400, "k");
  expect_error(call("GET", "/v1/similar?item=a&k=99999999999999999999"), 400, "k");
  expect_error(call("GET", "/v1/recommend?user=u&mmr=2"), 400, "mmr");
  std::string many = "/v1/recommend?user=u&exclude=";
  for (int k = 0; k < 1001; ++k) many += "i" + std::to_string(k) + ",";
  expect_error(call("GET", many), 400, "exclude");
  std::string batch = "[";
  for (int k = 0; k < 10001; ++k) batch += std::string(k ? "," : "") + R"({"user":"u","item":"a"})";
  expect_error(call("POST", "/v1/events", batch + "]"), 413, "events");
  EXPECT_EQ(engine_->stats().events, 0u);
}

TEST_F(HttpApiTest, MethodsAndAuthorization) {
  expect_error(call("DELETE", "/healthz"), 405, "method");
  expect_error(call("POST", "/metrics"), 405, "method");
  EXPECT_EQ(call("HEAD", "/healthz").status, 200);
  EXPECT_EQ(call("HEAD", "/v1/recommend?user=u").status, 200);
  EXPECT_EQ(call("POST", "/v1/events", R"({"user":"u","item":"a"})", "bearer secret").status, 200);
  EXPECT_EQ(call("POST", "/v1/events", R"({"user":"u","item":"a"})", "BEARER  secret").status, 200);
  expect_error(call("POST", "/v1/events", R"({"user":"u","item":"a"})", "Bearer SECRET"), 401, "Authorization");
  expect_error(call("POST", "/v1/events", R"({"user":"u","item":"a"})", "Basic secret"), 401, "Authorization");
  expect_error(call("POST", "/v1/events", R"({"user":"u","item":"a"})", ""), 401, "Authorization");
}

// The console's reads: item search and lookup, a user's recent items, the counters' history,
// the evaluation results; all refuse unknown parameters as the other routes do.
TEST_F(HttpApiTest, ConsoleReadsItemsUsersHistoryAndEvaluation) {
  ASSERT_EQ(call("PUT", "/v1/items/shoe-1", R"({"category":"shoes","tags":["red"],"price":9.5})").status, 200);
  ASSERT_EQ(call("PUT", "/v1/items/hat-1", R"({"category":"hats"})").status, 200);
  ASSERT_EQ(call("POST", "/v1/events",
                 R"([{"user":"u","item":"shoe-1"},{"user":"u","item":"shoe-2"},{"user":"v","item":"shoe-2"}])")
                .status,
            200);
  json found = json::parse(call("GET", "/v1/items?q=shoe").body);
  EXPECT_EQ(found["matched"], 2);
  EXPECT_EQ(found["items"][0]["item"], "shoe-2");  // two events: the more popular first
  EXPECT_EQ(json::parse(call("GET", "/v1/items?category=shoes").body)["items"][0]["item"], "shoe-1");
  EXPECT_EQ(json::parse(call("GET", "/v1/items?tag=red&limit=1").body)["matched"], 1);
  EXPECT_EQ(json::parse(call("GET", "/v1/items?q=nothing").body)["matched"], 0);
  const json item = json::parse(call("GET", "/v1/items/shoe-1").body);
  EXPECT_EQ(item["category"], "shoes");
  EXPECT_EQ(item["price"], 9.5);
  EXPECT_GT(item["popularity"].get<double>(), 0);
  EXPECT_EQ(json::parse(call("GET", "/v1/items/hat-1").body)["popularity"], 0);  // no events
  expect_error(call("GET", "/v1/items/nope"), 404, "id");
  expect_error(call("GET", "/v1/items?colour=red"), 400, "colour");
  expect_error(call("GET", "/v1/items?limit=x"), 400, "limit");
  // Hostile input on the console's reads: named 400s, nothing stored.
  expect_error(call("GET", "/v1/items?limit=1e400"), 400, "limit");
  expect_error(call("GET", "/v1/items?limit=-1"), 400, "limit");
  expect_error(call("GET", "/v1/items?limit=1001"), 400, "limit");
  expect_error(call("GET", "/v1/items?q=%FF"), 400, "q");
  expect_error(call("GET", "/v1/items?category=" + std::string(300, 'c')), 400, "category");
  expect_error(call("GET", "/v1/items?q=a&q=b"), 400, "q");
  expect_error(call("GET", "/v1/items/%FF"), 400, "id");
  expect_error(call("GET", "/v1/history?x=1"), 400, "x");
  expect_error(call("GET", "/v1/evaluation?x=1"), 400, "x");
  EXPECT_EQ(engine_->stats().items, 3u);
  const json user = json::parse(call("GET", "/v1/users/u").body);
  EXPECT_EQ(user["recent"], json({"shoe-2", "shoe-1"}));  // newest first
  ASSERT_EQ(user["events"].size(), 2u);
  EXPECT_EQ(user["events"][0]["item"], "shoe-2");
  EXPECT_EQ(user["events"][0]["type"], "view");
  api_->sample_history(1000);
  call("GET", "/v1/recommend?user=u");
  api_->sample_history(1010);
  const json history = json::parse(call("GET", "/v1/history").body)["samples"];
  ASSERT_EQ(history.size(), 2u);
  EXPECT_TRUE(history[0]["requests_per_s"].is_null());  // the first sample has no interval before it
  EXPECT_GT(history[1]["requests_per_s"].get<double>(), 0);
  EXPECT_FALSE(history[1]["recommend_ms"].is_null());  // one recommendation in the interval
  EXPECT_EQ(history[1]["events"], 3);
  const json evaluation = json::parse(call("GET", "/v1/evaluation").body);
  EXPECT_TRUE(evaluation["files"].empty());  // no evaluation directory configured
  EXPECT_FALSE(evaluation["report"]);
}

// GET /ui/: off unless enabled; with an API key, only for requests carrying it.
TEST(HttpApiConsole, ServedWhenOnAndOnlyWithTheKeyWhenOneIsSet) {
  nudge::testing::TempDir dir;
  EngineOptions o;
  o.data_dir = dir.file("data");
  o.retrain_interval_s = 0;
  auto engine = Engine::open(o).value();
  auto get = [&](HttpApi& api, const std::string& target, const std::string& auth = "") {
    std::promise<HttpResponse> p;
    api.handle({"GET", target, auth, ""}, [&](HttpResponse r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  };
  HttpApiOptions off;
  HttpApi closed(*engine, off);
  EXPECT_EQ(get(closed, "/ui/").status, 404);
  HttpApiOptions open;
  open.ui = true;
  HttpApi console(*engine, open);
  const HttpResponse page = get(console, "/ui/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<title>Nudge console</title>"), std::string::npos);
  EXPECT_EQ(get(console, "/ui/index.html").body, page.body);
  EXPECT_EQ(get(console, "/ui/other.js").status, 404);
  EXPECT_EQ(get(console, "/ui/report.html").status, 404);  // no evaluation directory
  EXPECT_EQ(get(console, "/ui/?other=1").status, 400);
  EXPECT_EQ(get(console, "/ui/?key=%FF").status, 400);
  EXPECT_EQ(get(console, "/ui/%FF").status, 404);
  HttpApiOptions keyed = open;
  keyed.api_key = "k";
  HttpApi guarded(*engine, keyed);
  EXPECT_EQ(get(guarded, "/ui/").status, 401);
  EXPECT_EQ(get(guarded, "/ui/?key=x").status, 401);
  EXPECT_EQ(get(guarded, "/ui/?key=k").status, 200);
  EXPECT_EQ(get(guarded, "/ui/", "Bearer k").status, 200);
}

// A callback that throws on the store's committer thread must not end that thread (or the
// process): later events are still stored and acknowledged.
TEST_F(HttpApiTest, AnExceptionInAnAnswerCallbackSparesTheCommitter) {
  std::promise<int> status;
  api_->handle({"POST", "/v1/events", "Bearer secret", R"({"user":"u","item":"a"})"}, [&](HttpResponse r) {
    status.set_value(r.status);
    throw std::runtime_error("the network layer failed");
  });
  EXPECT_EQ(status.get_future().get(), 200);
  EXPECT_EQ(call("POST", "/v1/events", R"({"user":"u","item":"b"})").status, 200);
  EXPECT_EQ(engine_->stats().events, 2u);
}

// Online experiments over HTTP: two arms (the main iALS model and popularity) side by side.
class ExperimentApiTest : public ::testing::Test {
 protected:
  void start(ExperimentMode mode) {
    EngineOptions o;
    o.data_dir = dir_.file("data");
    o.model.spec = "ials:factors=8,threads=1";
    o.retrain_interval_s = 0;
    o.retrain_after_events = 0;
    o.arms = {{"control", ""}, {"pop", "popularity"}};
    engine_ = Engine::open(o).value();
    std::vector<Event> events;
    for (int u = 0; u < 40; ++u)
      for (int i = 0; i < 12; ++i)
        if ((u + i) % 3 == 0 || (i < 3 && u % 2 == 0))
          events.push_back({"u" + std::to_string(u), "i" + std::to_string(i), "view", 1.f, 0});
    ASSERT_TRUE(engine_->ingest(events).is_ok());
    ASSERT_TRUE(engine_->retrain().is_ok());
    ExperimentOptions eo;
    eo.name = "exp";
    eo.mode = mode;
    eo.seed = 3;
    experiment_ = Experiment::create(eo, engine_->arm_names()).value();
    api_ = std::make_unique<HttpApi>(*engine_, HttpApiOptions{});
    api_->set_experiment(experiment_.get());
  }
  json get(const std::string& target) {
    std::promise<HttpResponse> p;
    api_->handle({"GET", target, "", ""}, [&](HttpResponse r) { p.set_value(std::move(r)); });
    HttpResponse r = p.get_future().get();
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    return json::parse(r.body, nullptr, false);
  }
  HttpResponse post_events(const json& events) {
    std::promise<HttpResponse> p;
    api_->handle({"POST", "/v1/events", "", events.dump()}, [&](HttpResponse r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  json event(const std::string& user, const std::string& item, const std::string& type, const std::string& rec_id) {
    return {{"user", user}, {"item", item}, {"type", type}, {"rec_id", rec_id}};
  }
  nudge::testing::TempDir dir_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Experiment> experiment_;
  std::unique_ptr<HttpApi> api_;
};

TEST_F(ExperimentApiTest, AbArmsAreStablePerUserAndCountsAreExact) {
  start(ExperimentMode::kAB);
  struct Expected {
    uint64_t impressions = 0, clicks = 0, clicked = 0, conversions = 0;
  } expected[2];
  json events = json::array();
  for (int u = 0; u < 40; ++u) {
    const std::string user = "u" + std::to_string(u);
    const size_t arm = experiment_->assign(user);
    std::string last_rec_id;
    for (int round = 0; round < 2; ++round) {
      const json r = get("/v1/recommend?user=" + user + "&k=3");
      EXPECT_EQ(r["arm"], engine_->arm_names()[arm]) << user;  // the same arm every time
      EXPECT_EQ(r["experiment"], "exp");
      const std::string rec_id = r["rec_id"];
      EXPECT_EQ(rec_id.size(), 16u);
      EXPECT_NE(rec_id, last_rec_id);
      last_rec_id = rec_id;
      ++expected[arm].impressions;
      if (u % 2 == 0 && round == 0) {  // two clicks on one list, a purchase on every fourth user's
        events.push_back(event(user, r["items"][0]["item"], "click", rec_id));
        events.push_back(event(user, r["items"][1]["item"], "click", rec_id));
        expected[arm].clicks += 2;
        ++expected[arm].clicked;
        if (u % 4 == 0) {
          events.push_back(event(user, r["items"][1]["item"], "purchase", rec_id));
          ++expected[arm].conversions;
        }
      }
      if (u == 1) events.push_back(event(user, r["items"][0]["item"], "view", rec_id));  // not counted
    }
  }
  events.push_back(event("u1", "i1", "click", "ffffffffffffffff"));  // never served
  events.push_back(event("u1", "not-shown", "click", experiment_->next_list().rec_id));
  {  // u0's list, clicked by somebody else: not credited (rec_ids come from an open endpoint)
    const json r = get("/v1/recommend?user=u0&k=3");
    ++expected[experiment_->assign("u0")].impressions;
    events.push_back(event("intruder", r["items"][0]["item"], "click", r["rec_id"]));
    events.push_back(event("intruder", r["items"][0]["item"], "purchase", r["rec_id"]));
  }
  ASSERT_EQ(post_events(events).status, 200);
  ASSERT_GT(expected[0].impressions, 10u);
  ASSERT_GT(expected[1].impressions, 10u);

  const json report = get("/v1/experiments")["experiments"][0];
  EXPECT_EQ(report["name"], "exp");
  EXPECT_EQ(report["mode"], "ab");
  for (size_t arm = 0; arm < 2; ++arm) {
    const json& a = report["arms"][arm];
    EXPECT_EQ(a["name"], engine_->arm_names()[arm]);
    EXPECT_EQ(a["impressions"], expected[arm].impressions);
    EXPECT_EQ(a["clicks"], expected[arm].clicks);
    EXPECT_EQ(a["clicked_lists"], expected[arm].clicked);
    EXPECT_EQ(a["conversions"], expected[arm].conversions);
    EXPECT_DOUBLE_EQ(a["ctr"].get<double>(), static_cast<double>(expected[arm].clicked) / expected[arm].impressions);
    EXPECT_LT(a["ctr_ci95"][0].get<double>(), a["ctr"].get<double>());
    EXPECT_GT(a["ctr_ci95"][1].get<double>(), a["ctr"].get<double>());
  }
  EXPECT_TRUE(report["arms"][0]["p_value_vs_control"].is_null());
  EXPECT_TRUE(report["arms"][1]["p_value_vs_control"].is_number());
  EXPECT_EQ(report["unattributed"]["unknown_rec_id"], 2u);  // the unknown one, and the unrecorded list
  EXPECT_EQ(report["unattributed"]["not_in_list"], 0u);
  EXPECT_EQ(report["unattributed"]["other_user"], 2u);

  std::promise<HttpResponse> p;
  api_->handle({"GET", "/metrics", "", ""}, [&](HttpResponse r) { p.set_value(std::move(r)); });
  const std::string metrics = p.get_future().get().body;
  for (size_t arm = 0; arm < 2; ++arm)
    EXPECT_NE(metrics.find(fmt::format("nudge_experiment_clicks_total{{experiment=\"exp\",arm=\"{}\"}} {}\n",
                                       engine_->arm_names()[arm], expected[arm].clicks)),
              std::string::npos)
        << metrics;
  EXPECT_NE(metrics.find("nudge_arm_model_version{arm=\"pop\"}"), std::string::npos);

  // An arm asked for by name answers, outside the experiment's counts.
  const json forced = get("/v1/recommend?user=u0&arm=pop");
  EXPECT_EQ(forced["arm"], "pop");
  EXPECT_FALSE(forced.contains("rec_id"));
  EXPECT_EQ(get("/v1/experiments")["experiments"][0]["arms"][1]["impressions"], expected[1].impressions);
  std::promise<HttpResponse> bad;
  api_->handle({"GET", "/v1/recommend?user=u0&arm=nope", "", ""}, [&](HttpResponse r) { bad.set_value(r); });
  EXPECT_EQ(bad.get_future().get().body, R"({"error":"no arm named 'nope'","field":"arm"})");
  EXPECT_EQ(post_events(json{{"user", "u"}, {"item", "i"}, {"rec_id", 5}}).body,
            R"({"error":"expected a string","field":"event.rec_id"})");
  EXPECT_EQ(post_events(json{{"user", "u"}, {"item", "i"}, {"rec_id", std::string(65, 'a')}}).status, 400);
  // Invalid UTF-8 in a rec_id: refused, and the store holds no more events than before.
  const uint64_t stored = engine_->stats().events;
  std::promise<HttpResponse> utf8;
  api_->handle({"POST", "/v1/events", "", "{\"user\":\"u\",\"item\":\"i\",\"rec_id\":\"\xff\xfe\"}"},
               [&](HttpResponse r) { utf8.set_value(r); });
  EXPECT_EQ(utf8.get_future().get().status, 400);
  EXPECT_EQ(engine_->stats().events, stored);
}

TEST_F(ExperimentApiTest, InterleavedListsCreditEachItemToTheArmThatPickedIt) {
  start(ExperimentMode::kInterleave);
  uint64_t wins[2] = {0, 0};
  json events = json::array();
  for (int u = 0; u < 20; ++u) {
    const std::string user = "u" + std::to_string(u);
    const json r = get("/v1/recommend?user=" + user + "&k=4&pin=i11:1");
    EXPECT_EQ(r["arm"], "interleaved");
    ASSERT_EQ(r["items"].size(), 4u);
    EXPECT_EQ(r["items"][0]["item"], "i11");  // the pin keeps its place and belongs to no arm
    EXPECT_FALSE(r["items"][0].contains("arm"));
    int picked[2] = {0, 0};
    for (size_t k = 1; k < 4; ++k) ++picked[r["items"][k]["arm"] == "control" ? 0 : 1];
    EXPECT_LE(std::abs(picked[0] - picked[1]), 1);
    // A click on the pin (nobody's) and one on the second item, whose arm wins the list.
    events.push_back(event(user, "i11", "click", r["rec_id"]));
    events.push_back(event(user, r["items"][1]["item"], "click", r["rec_id"]));
    ++wins[r["items"][1]["arm"] == "control" ? 0 : 1];
  }
  ASSERT_EQ(post_events(events).status, 200);
  const json report = get("/v1/experiments")["experiments"][0];
  EXPECT_EQ(report["mode"], "interleave");
  EXPECT_EQ(report["arms"][0]["impressions"], 20u);
  EXPECT_EQ(report["arms"][1]["impressions"], 20u);
  EXPECT_EQ(report["arms"][0]["wins"], wins[0]);
  EXPECT_EQ(report["arms"][1]["wins"], wins[1]);
  EXPECT_EQ(report["interleaving"]["ties"], 0u);
  EXPECT_EQ(report["unattributed"]["not_in_list"], 20u);
  EXPECT_DOUBLE_EQ(report["interleaving"]["preference"].get<double>(), wins[0] / 20.0 - 0.5);
}

}  // namespace
}  // namespace nudge::serve
