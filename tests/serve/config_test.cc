#include "nudge/serve/config.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace nudge::serve {
namespace {

TEST(ServeConfig, ReadsEverySection) {
  ServeConfig c = default_serve_config();
  const Status s = parse_serve_config(R"(
[server]
host = "0.0.0.0"
port = 9000
threads = 2
api_key = "secret"
max_body_bytes = 1024
[store]
data_dir = "/tmp/x"
sync = false
skip_damaged_log = true
[model]
spec = "fusion:models=ials+ease,ials.factors=16"
file = "offline.nudge"
factors = 32
ann_min_items = 10
[retrain]
interval_s = 60
after_events = 5
[events]
weights = "view=1,purchase=5"
trending_half_life_hours = 2.5
)",
                                      "test.toml", &c);
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_EQ(c.server.host, "0.0.0.0");
  EXPECT_EQ(c.server.port, 9000);
  EXPECT_EQ(c.server.max_body_bytes, 1024u);
  EXPECT_EQ(c.api.api_key, "secret");
  EXPECT_EQ(c.engine.data_dir, "/tmp/x");
  EXPECT_FALSE(c.engine.store.sync);
  EXPECT_TRUE(c.engine.store.skip_damaged_log);
  EXPECT_EQ(c.engine.model.spec, "fusion:models=ials+ease,ials.factors=16");
  EXPECT_EQ(c.engine.model_file, "offline.nudge");
  EXPECT_EQ(c.engine.model.ials.factors, 32);
  EXPECT_EQ(c.engine.model.ann_min_items, 10u);
  EXPECT_EQ(c.engine.retrain_after_events, 5);
  EXPECT_EQ(c.engine.event_weights, "view=1,purchase=5");
  EXPECT_DOUBLE_EQ(c.engine.trending_half_life_hours, 2.5);
}

TEST(ServeConfig, KafkaSectionWithLibrdkafkaProperties) {
  ServeConfig c = default_serve_config();
  EXPECT_TRUE(c.kafka.brokers.empty());  // no Kafka unless asked for
  EXPECT_TRUE(c.kafka.produce_api_events);
  ASSERT_OK(parse_serve_config(R"(
[kafka]
brokers = "k1:9092,k2:9092"
topic = "clicks"
group = "eu-replicas"
startup_timeout_ms = 3000
max_batch_messages = 100
produce_events = false
[kafka.properties]
"security.protocol" = "ssl"
)",
                               "k.toml", &c));
  EXPECT_EQ(c.kafka.brokers, "k1:9092,k2:9092");
  EXPECT_EQ(c.kafka.topic, "clicks");
  EXPECT_EQ(c.kafka.group, "eu-replicas");
  EXPECT_EQ(c.kafka.startup_timeout_ms, 3000);
  EXPECT_EQ(c.kafka.max_batch_messages, 100u);
  EXPECT_FALSE(c.kafka.produce_api_events);  // on by default: one path for every event
  ASSERT_EQ(c.kafka.properties.size(), 1u);
  EXPECT_EQ(c.kafka.properties[0], (std::pair<std::string, std::string>{"security.protocol", "ssl"}));

  ServeConfig d = default_serve_config();
  EXPECT_EQ(parse_serve_config("[kafka]\nbroker = \"x\"\n", "k.toml", &d).message(),
            "k.toml:2: unknown key kafka.broker");
  EXPECT_EQ(parse_serve_config("[kafka.properties]\n\"linger.ms\" = 5\n", "k.toml", &d).message(),
            "k.toml:2: kafka.properties.linger.ms: expected a string");
  EXPECT_EQ(parse_serve_config("[kafka]\nproperties = 3\n", "k.toml", &d).message(),
            "k.toml:2: [kafka.properties] must be a table");
  EXPECT_EQ(parse_serve_config("[kafka]\nstartup_timeout_ms = 0\n", "k.toml", &d).message(),
            "k.toml:2: kafka.startup_timeout_ms: 0 is out of range [1, 2147483647]");
}

TEST(ServeConfig, ClusterSection) {
  ServeConfig c = default_serve_config();
  EXPECT_TRUE(c.cluster.redis.address.empty());  // a single node unless asked
  ASSERT_OK(parse_serve_config(R"(
[cluster]
redis = "10.0.0.5:6379"
redis_timeout_ms = 300
name = "shop"
replica_id = "eu-1"
trainer = true
model_dir = "/shared/models"
lease_ms = 5000
poll_ms = 200
advertise = "http://10.0.0.7:8080"
forward_timeout_ms = 250
)",
                               "c.toml", &c));
  EXPECT_EQ(c.cluster.redis.address, "10.0.0.5:6379");
  EXPECT_EQ(c.cluster.redis.timeout_ms, 300);
  EXPECT_EQ(c.cluster.name, "shop");
  EXPECT_EQ(c.cluster.replica_id, "eu-1");
  EXPECT_TRUE(c.cluster.trainer);
  EXPECT_EQ(c.cluster.model_dir, "/shared/models");
  EXPECT_EQ(c.cluster.lease_ms, 5000);
  EXPECT_EQ(c.cluster.poll_ms, 200);
  EXPECT_EQ(c.cluster.advertise, "http://10.0.0.7:8080");
  EXPECT_EQ(c.cluster.forward_timeout_ms, 250);
  EXPECT_EQ(parse_serve_config("[cluster]\nleader = true\n", "c.toml", &c).message(),
            "c.toml:2: unknown key cluster.leader");
}

TEST(ServeConfig, ExperimentSection) {
  ServeConfig c = default_serve_config();
  Status s = parse_serve_config(R"(
[experiment]
name = "fusion-test"
mode = "ab"
click_types = ["click", "open"]
conversion_types = ["purchase"]
remember = 1000
[[experiment.arm]]
name = "control"
weight = 90
[[experiment.arm]]
name = "fusion"
spec = "fusion:models=ials+popularity"
weight = 10
)",
                                "e.toml", &c);
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_EQ(c.experiment.name, "fusion-test");
  EXPECT_EQ(c.experiment.mode, ExperimentMode::kAB);
  EXPECT_EQ(c.experiment.click_types, (std::vector<std::string>{"click", "open"}));
  EXPECT_EQ(c.experiment.remember, 1000u);
  EXPECT_EQ(c.experiment.weights, (std::vector<double>{90, 10}));
  ASSERT_EQ(c.engine.arms.size(), 2u);
  EXPECT_EQ(c.engine.arms[0].name, "control");
  EXPECT_EQ(c.engine.arms[0].spec, "");
  EXPECT_EQ(c.engine.arms[1].spec, "fusion:models=ials+popularity");

  ServeConfig d = default_serve_config();
  s = parse_serve_config("[experiment]\nname = \"x\"\nmode = \"ba\"\n", "e.toml", &d);
  EXPECT_EQ(s.message(), "e.toml:3: experiment.mode: expected \"ab\" or \"interleave\"");
  s = parse_serve_config("[experiment]\nname = \"x\"\n", "e.toml", &d);
  EXPECT_EQ(s.message(), "e.toml:1: experiment: needs [[experiment.arm]] tables, the first for [model]");
  s = parse_serve_config("[experiment]\nname = \"x\"\n[[experiment.arm]]\nname = \"a\"\nspce = \"b\"\n", "e.toml", &d);
  EXPECT_EQ(s.message(), "e.toml:5: unknown key experiment.arm[0].spce");
  s = parse_serve_config("[experiment]\nname = \"x\"\nclick_types = \"click\"\n", "e.toml", &d);
  EXPECT_EQ(s.message(), "e.toml:3: experiment.click_types: expected a list of strings");
  s = parse_serve_config("[experiment]\nname = \"a b\"\n", "e.toml", &d);
  EXPECT_EQ(s.message(), "e.toml:1: experiment.name: may hold only letters, digits, '_', '-' and '.'");
  s = parse_serve_config(
      "[cluster]\nredis = \"127.0.0.1:6379\"\n[experiment]\nname = \"x\"\n[[experiment.arm]]\nname = \"a\"\n", "e.toml",
      &d);
  EXPECT_EQ(s.message(),
            "e.toml:3: [experiment] runs on a single node: a cluster trains and installs only the main model");
}

TEST(ServeConfig, AnEmptyDataDirIsRefused) {
  ServeConfig c = default_serve_config();
  const Status s = parse_serve_config("[store]\ndata_dir = \"\"\n", "t.toml", &c);
  EXPECT_EQ(s.message(), "t.toml:2: store.data_dir: an empty path (give a directory)") << s.to_string();
}

TEST(ServeConfig, ErrorsNameFileLineAndKey) {
  ServeConfig c = default_serve_config();
  Status s = parse_serve_config("[server]\nport = \"80\"\n", "a.toml", &c);
  EXPECT_EQ(s.message(), "a.toml:2: server.port: expected an integer in [0, 65535]");
  s = parse_serve_config("[server]\nprot = 80\n", "a.toml", &c);
  EXPECT_EQ(s.message(), "a.toml:2: unknown key server.prot");
  s = parse_serve_config("[serve]\n", "a.toml", &c);
  EXPECT_EQ(s.message(), "a.toml:1: unknown section [serve]");
  s = parse_serve_config("[server]\nport = 70000\n", "a.toml", &c);
  EXPECT_EQ(s.message(), "a.toml:2: server.port: 70000 is out of range [0, 65535]");
  // Found by fuzz_text_configs: a float where an integer belongs was converted (UB for 9e60).
  s = parse_serve_config("[server]\nmax_connections = 9.135e60\n", "a.toml", &c);
  EXPECT_EQ(s.message(), "a.toml:2: server.max_connections: expected an integer >= 1");
  // A spec is checked when the file is read, as nudge train -m checks it.
  s = parse_serve_config("[model]\n\nspec = \"fusion:models=ials+nope\"\n", "a.toml", &c);
  EXPECT_EQ(s.message().rfind("a.toml:3: model.spec: fusion: unknown model 'nope'", 0), 0u) << s.message();
  // The default spec's iALS keys are IalsOptions' own, with its bounds and messages.
  s = parse_serve_config("[model]\nfactors = 5000\n", "a.toml", &c);
  EXPECT_EQ(s.message(), "a.toml:2: model: parameter 'factors' must be an integer in [1, 4096], got '5000'");
  s = parse_serve_config("[model]\ncg_steps = 0\nreg_exponent = 1.0\nalpha = \"x\"\n", "a.toml", &c);
  EXPECT_EQ(s.message(), "a.toml:4: model: parameter 'alpha' must be a number in [0, 1e+09], got 'x'");
  s = parse_serve_config("[model]\ncg_steps = 0\nreg_exponent = 1.0\n", "a.toml", &c);
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_EQ(c.engine.model.ials.cg_steps, 0);
  EXPECT_DOUBLE_EQ(c.engine.model.ials.reg_exponent, 1.0);
  // NaN and infinities are out of every number option's range; a mode outside its choices is named.
  s = parse_serve_config("[events]\ntrending_refresh_s = nan\n", "a.toml", &c);
  EXPECT_EQ(s.message(), "a.toml:2: events.trending_refresh_s: nan is out of range [0, 1e+09]");
  s = parse_serve_config("[events]\ntrending_half_life_hours = inf\n", "a.toml", &c);
  EXPECT_EQ(s.message().rfind("a.toml:2: events.trending_half_life_hours: ", 0), 0u) << s.message();
  s = parse_serve_config("[server]\nui = \"maybe\"\n", "a.toml", &c);
  EXPECT_EQ(s.message(), "a.toml:2: server.ui: expected auto, on or off");
  s = parse_serve_config("[server\n", "a.toml", &c);
  EXPECT_EQ(s.message().rfind("a.toml:1: ", 0), 0u) << s.message();
}

}  // namespace
}  // namespace nudge::serve
