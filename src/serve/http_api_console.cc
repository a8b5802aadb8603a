// HttpApi's console routes (docs/console.md): item search and lookup, the counters'
// history, the evaluation results and the page itself.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "serve/http_api.h"
#include "serve/http_call.h"
#include "serve/ui_assets.h"

namespace nudge::serve {

using nlohmann::json;

namespace {

json item_json(const ItemInfo& info) {
  json j = {{"item", info.record.id}, {"category", info.record.category}, {"tags", info.record.tags},
            {"price", nullptr},       {"hidden", info.record.hidden},     {"popularity", info.popularity}};
  if (!std::isnan(info.record.price)) j["price"] = info.record.price;
  return j;
}

}  // namespace

void HttpApi::get_items(const Call& call) {
  ItemQuery q;
  for (auto [name, out] : {std::pair{"q", &q.text}, {"category", &q.category}, {"tag", &q.tag}})
    if (const std::string* v = call.params.get(name)) *out = *v;
  if (Status e = read_size(call.params, "limit", kMaxK, &q.limit); !e.is_ok()) return call.answer(e);
  size_t matched = 0;
  json items = json::array();
  for (const ItemInfo& info : engine_.find_items(q, &matched)) items.push_back(item_json(info));
  call.respond(json_response(200, {{"items", std::move(items)}, {"matched", matched}}));
}

void HttpApi::get_item(const Call& call) {
  auto info = engine_.item_info(call.id);
  if (!info) return call.answer(404, "id", "unknown item '" + call.id + "'");
  call.respond(json_response(200, item_json(*info)));
}

void HttpApi::sample_history(int64_t now_unix) {
  const EngineStats st = engine_.stats();
  StatsSample s;
  s.time = now_unix;
  s.requests = metrics_.requests();
  s.ingested = metrics_.events_ingested();
  s.recommend = metrics_.latency(Endpoint::kRecommend);
  s.events = st.events, s.users = st.users, s.items = st.items;
  s.model_version = st.model_version;
  s.train_seconds = st.last_train_seconds;
  s.retrains = st.retrains;
  s.fusion_weights = st.fusion_weights;
  history_.add(std::move(s));
}

void HttpApi::get_history(const Call& call) { call.respond(json_response(200, history_.to_json())); }

// The JSON files of the evaluation directory (nudge replay --json, nudge eval --json), each
// parsed, newest first, and whether a nudge report page is there (served at /ui/report.html).
void HttpApi::get_evaluation(const Call& call) {
  namespace fs = std::filesystem;
  json files = json::array();
  bool report = false;
  std::error_code ec;
  std::vector<fs::directory_entry> entries;
  if (!options_.evaluation_dir.empty())
    for (const auto& e : fs::directory_iterator(options_.evaluation_dir, ec)) entries.push_back(e);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    std::error_code e1, e2;
    return a.last_write_time(e1) > b.last_write_time(e2);
  });
  constexpr uintmax_t kMaxFileBytes = 4 << 20;
  for (const auto& e : entries) {
    const std::string name = e.path().filename().string();
    if (name == "report.html") report = true;
    if (e.path().extension() != ".json" || e.file_size(ec) > kMaxFileBytes || ec) continue;
    std::ifstream in(e.path(), std::ios::binary);
    json content = json::parse(in, nullptr, false);
    if (content.is_discarded()) continue;  // not JSON: not an evaluation result
    files.push_back({{"name", name}, {"content", std::move(content)}});
  }
  call.respond(json_response(200, {{"files", std::move(files)}, {"report", report}}));
}

// The console (docs/console.md): one self-contained page; with an API key set, only for a
// request carrying it (?key= when the browser opens the page, the bearer header otherwise).
void HttpApi::get_ui(const Call& call) {
  const std::string& path = call.req.target.substr(0, call.req.target.find('?'));
  if (!options_.ui)
    return call.answer(404, "path", "the console is off (server.ui = \"off\", or not a loopback address)");
  if (!options_.api_key.empty()) {
    const std::string* key = call.params.get("key");
    if (!(key && *key == options_.api_key) && !bearer_matches(call.req.authorization, options_.api_key))
      return call.answer(401, "key", "the console needs the API key: open /ui/?key=<api_key>");
  }
  if (path == "/ui/" || path == "/ui/index.html")
    return call.respond({200, "text/html; charset=utf-8", std::string(kConsoleHtml)});
  if (path == "/ui/report.html" && !options_.evaluation_dir.empty()) {
    std::ifstream in(options_.evaluation_dir + "/report.html", std::ios::binary);
    if (in) return call.respond({200, "text/html; charset=utf-8", std::string(std::istreambuf_iterator<char>(in), {})});
  }
  call.answer(404, "path", "no such page: " + path);
}

}  // namespace nudge::serve
