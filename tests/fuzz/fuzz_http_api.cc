// libFuzzer target: the whole HTTP API in process (routing, query rules, JSON bodies of
// events, items and users, answers, an interleaving experiment's lists and attribution, the
// console's page and reads),
// against a live engine with trained models. Input:
// first byte picks the method, then the target up to '\n', then the body.
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <string_view>

#include "serve/experiment.h"
#include "serve/http_api.h"

using namespace nudge::serve;

namespace {

struct Harness {
  std::filesystem::path dir;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Experiment> experiment;
  std::unique_ptr<HttpApi> api;
};
Harness* harness = nullptr;

void close_harness() {
  if (harness == nullptr) return;
  std::filesystem::path dir = harness->dir;
  delete harness;
  harness = nullptr;
  std::filesystem::remove_all(dir);
}

HttpResponse call(std::string method, std::string target, std::string body) {
  auto answered = std::make_shared<std::promise<HttpResponse>>();
  auto future = answered->get_future();
  harness->api->handle({std::move(method), std::move(target), "", std::move(body)},
                       [answered](HttpResponse r) { answered->set_value(std::move(r)); });
  // An answer that never comes is a bug (a client would hang).
  if (future.wait_for(std::chrono::seconds(20)) != std::future_status::ready) std::abort();
  return future.get();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "nudge-fuzz-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  harness = new Harness{tmpl, nullptr, nullptr, nullptr};
  EngineOptions o;
  o.data_dir = (harness->dir / "data").string();
  o.store.sync = false;
  o.model.spec = "ials:factors=4,iterations=2";
  o.retrain_interval_s = 0;
  o.retrain_after_events = 0;
  o.train_on_start = false;
  o.arms = {{"control", ""}, {"pop", "popularity"}};  // an interleaving experiment: both arms and the draft run
  auto engine = Engine::open(o);
  if (!engine.is_ok()) std::abort();
  harness->engine = std::move(engine).value();
  HttpApiOptions api_options;
  api_options.ui = true;  // the console's routes too
  api_options.evaluation_dir = (harness->dir / "evaluation").string();
  harness->api = std::make_unique<HttpApi>(*harness->engine, api_options);
  ExperimentOptions experiment;
  experiment.name = "fuzz";
  experiment.mode = ExperimentMode::kInterleave;
  experiment.seed = 1;
  experiment.remember = 1000;
  auto created = Experiment::create(experiment, harness->engine->arm_names());
  if (!created.is_ok()) std::abort();
  harness->experiment = std::move(created).value();
  harness->api->set_experiment(harness->experiment.get());
  std::atexit(close_harness);
  // A small catalogue with features and a trained model, so rules and explanations run.
  call("PUT", "/v1/items/a", R"({"category":"x","tags":["t","u"],"price":3})");
  call("PUT", "/v1/items/b", R"({"category":"y","tags":["t"],"price":5})");
  call("PUT", "/v1/users/u", R"({"attributes":{"age":30}})");
  call("POST", "/v1/events",
       R"([{"user":"u","item":"a"},{"user":"u","item":"b","type":"cart"},{"user":"v","item":"b"},)"
       R"({"user":"v","item":"c","value":2},{"user":"w","item":"a"},{"user":"w","item":"c"}])");
  if (!harness->engine->retrain().is_ok()) std::abort();
  harness->api->sample_history(1000);  // a history with an interval for GET /v1/history
  call("GET", "/v1/recommend?user=u", "");
  harness->api->sample_history(1005);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr const char* kMethods[] = {"GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"};
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t newline = rest.find('\n');
  std::string target(rest.substr(0, newline));
  std::string body(newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1));
  const HttpResponse r = call(kMethods[data[0] % std::size(kMethods)], std::move(target), std::move(body));
  if (r.status < 200 || r.status > 599 || r.status == 500)
    std::abort();  // 500: an exception got as far as the boundary
  return 0;
}
