#include "serve/http_api.h"

#include "serve/cluster.h"
#include "serve/experiment.h"
#include "serve/kafka_source.h"
#include "serve/owner_router.h"

#include <atomic>
#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <span>
#include <unordered_map>

#include "nudge/input_limits.h"
#include "nudge/log.h"
#include "serve/event_json.h"
#include "serve/http_call.h"
#include "serve/query_string.h"

namespace nudge::serve {
namespace {

// A request target is logged cut to this length (it is the client's text, of any size).
constexpr size_t kLoggedTargetChars = 200;
// The content type of Prometheus' text exposition format.
constexpr const char* kPrometheusTextFormat = "text/plain; version=0.0.4";

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// The one place where errors become HTTP status codes.
int http_status_for(const Status& s) {
  switch (s.code()) {
    case Status::Code::kInvalidArgument: return 400;
    case Status::Code::kNotFound: return 404;
    case Status::Code::kTooLarge: return 413;
    case Status::Code::kNoSpace: return 507;           // Insufficient Storage: retry once space returns
    case Status::Code::kDeadlineExceeded: return 504;  // not confirmed in time; may still complete
    default: return 500;
  }
}

// Every route's query parameters, in one table: anything else is refused, a parameter that is
// not a list may be given once (no silent "last one wins"), and IDs have the limits of bodies.
constexpr ParamRules kNoParams;
constexpr ParamRule kRecommendParams[] = {{"user", ParamKind::kId},
                                          {"k", ParamKind::kValue},
                                          {"exclude_seen", ParamKind::kValue},
                                          {"exclude", ParamKind::kIdList},
                                          {"category", ParamKind::kIdList},
                                          {"tag", ParamKind::kIdList},
                                          {"price_min", ParamKind::kValue},
                                          {"price_max", ParamKind::kValue},
                                          {"pin", ParamKind::kList},
                                          {"boost", ParamKind::kList},
                                          {"max_per_category", ParamKind::kValue},
                                          {"mmr", ParamKind::kValue},
                                          {"explain", ParamKind::kValue},
                                          {"arm", ParamKind::kValue}};
constexpr ParamRule kItemSearchParams[] = {
    {"q", ParamKind::kValue}, {"category", ParamKind::kId}, {"tag", ParamKind::kId}, {"limit", ParamKind::kValue}};
constexpr ParamRule kUiParams[] = {{"key", ParamKind::kValue}};
constexpr ParamRule kSimilarParams[] = {{"item", ParamKind::kId},
                                        {"k", ParamKind::kValue},
                                        {"category", ParamKind::kIdList},
                                        {"explain", ParamKind::kValue}};

// Assigns a list parameter's values to *out, or returns its error.
Status read_list(const QueryParams& p, std::string_view name, std::vector<std::string>* out) {
  NUDGE_ASSIGN_OR_RETURN(*out, p.list(name));
  return Status::ok();
}

// Every query name and value must be UTF-8: IDs end up in JSON answers and the store. (IDs
// in the path are checked by their routes, other paths where they are echoed in a 404.)
Status check_query_text(const QueryString& q) {
  for (const auto& [name, value] : q.params) {
    if (auto why = text_problem(name, 64)) return Status::invalid_field("query", "parameter name " + *why);
    if (auto why = text_problem(value, 64 * 1024)) return Status::invalid_field(name, *why);
  }
  return Status::ok();
}

Status parse_float(std::string_view text, std::string_view field, float* out) {
  const std::string s(text);
  char* end = nullptr;
  const float f = std::strtof(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(f))
    return Status::invalid_field(std::string(field), "not a finite number: '" + s + "'");
  *out = f;
  return Status::ok();
}

Status read_float(const QueryParams& p, std::string_view name, std::optional<float>* out) {
  const std::string* v = p.get(name);
  if (!v) return Status::ok();
  float f = 0;
  NUDGE_RETURN_IF_ERROR(parse_float(*v, name, &f));
  *out = f;
  return Status::ok();
}

Status read_bool(const QueryParams& p, std::string_view name, bool* out) {
  const std::string* v = p.get(name);
  if (!v) return Status::ok();
  if (*v == "true" || *v == "1") *out = true;
  else if (*v == "false" || *v == "0") *out = false;
  else return Status::invalid_field(std::string(name), "expected true or false, got '" + *v + "'");
  return Status::ok();
}

Result<RecommendRequest> parse_recommend(const QueryParams& p) {
  NUDGE_RETURN_IF_ERROR(p.check(kRecommendParams));
  RecommendRequest r;
  const std::string* user = p.get("user");
  if (!user || user->empty()) return Status::invalid_field("user", "required");
  r.user = *user;
  NUDGE_RETURN_IF_ERROR(read_size(p, "k", kMaxK, &r.k));
  NUDGE_RETURN_IF_ERROR(read_bool(p, "exclude_seen", &r.exclude_seen));
  NUDGE_RETURN_IF_ERROR(read_list(p, "exclude", &r.exclude));
  NUDGE_RETURN_IF_ERROR(read_list(p, "category", &r.categories));
  NUDGE_RETURN_IF_ERROR(read_list(p, "tag", &r.tags));
  std::vector<std::string> pins, boosts;
  NUDGE_RETURN_IF_ERROR(read_list(p, "pin", &pins));
  NUDGE_RETURN_IF_ERROR(read_list(p, "boost", &boosts));
  NUDGE_RETURN_IF_ERROR(read_float(p, "price_min", &r.price_min));
  NUDGE_RETURN_IF_ERROR(read_float(p, "price_max", &r.price_max));
  for (const std::string& pin : pins) {
    const size_t colon = pin.rfind(':');
    size_t position = 0;
    const char* end = pin.data() + pin.size();
    if (colon == std::string::npos || colon == 0 || std::from_chars(pin.data() + colon + 1, end, position).ptr != end ||
        position == 0 || position > kMaxK)
      return Status::invalid_field("pin", "expected ITEM:POSITION (position from 1), got '" + pin + "'");
    if (auto why = id_problem(std::string_view(pin).substr(0, colon))) return Status::invalid_field("pin", *why);
    r.pins.push_back({pin.substr(0, colon), position});
  }
  for (const std::string& boost : boosts) {
    const size_t first = boost.find(':'), last = boost.rfind(':');
    Boost b;
    if (first == std::string::npos || first == last)
      return Status::invalid_field("boost", "expected category:VALUE:WEIGHT or tag:VALUE:WEIGHT, got '" + boost + "'");
    b.field = boost.substr(0, first);
    b.value = boost.substr(first + 1, last - first - 1);
    if ((b.field != "category" && b.field != "tag") || b.value.empty())
      return Status::invalid_field("boost", "expected category:VALUE:WEIGHT or tag:VALUE:WEIGHT, got '" + boost + "'");
    if (auto why = id_problem(b.value)) return Status::invalid_field("boost", *why);
    NUDGE_RETURN_IF_ERROR(parse_float(std::string_view(boost).substr(last + 1), "boost", &b.weight));
    r.boosts.push_back(std::move(b));
  }
  NUDGE_RETURN_IF_ERROR(read_size(p, "max_per_category", kMaxK, &r.max_per_category));
  std::optional<float> mmr;
  NUDGE_RETURN_IF_ERROR(read_float(p, "mmr", &mmr));
  if (mmr) r.mmr_lambda = *mmr;
  NUDGE_RETURN_IF_ERROR(read_bool(p, "explain", &r.explain));
  if (!(r.mmr_lambda >= 0.f && r.mmr_lambda <= 1.f))
    return Status::invalid_field("mmr", "expected a number from 0 to 1");
  if (r.price_min && r.price_max && *r.price_min > *r.price_max)
    return Status::invalid_field("price_min", "greater than price_max");
  return r;
}

json to_json(const RecommendResponse& r, std::string_view key, std::string_view id, bool explain) {
  json items = json::array();
  for (const Recommendation& rec : r.items) {
    json j = {{"item", rec.item}, {"score", rec.score}};
    if (rec.pinned) j["pinned"] = true;
    if (explain) {
      j["reason"] = rec.reason;
      j["because"] = rec.because;
      if (!rec.components.empty()) {
        json parts = json::object();
        for (const auto& [name, score] : rec.components) parts[name] = score;
        j["components"] = std::move(parts);
      }
    }
    items.push_back(std::move(j));
  }
  return {{key, id}, {"source", r.source}, {"model_version", r.model_version}, {"items", std::move(items)}};
}

Result<ItemRecord> parse_item(const std::string& id, const std::string& body, size_t max_tags) {
  NUDGE_ASSIGN_OR_RETURN(const json doc, parse_json_body(body, "{}"));
  if (!doc.is_object()) return Status::invalid_field("body", "expected an object");
  ItemRecord item;
  item.id = id;
  for (const auto& [key, value] : doc.items()) {
    if (key == "category") {
      if (!value.is_string() && !value.is_null()) return Status::invalid_field(key, "expected a string");
      if (value.is_string()) item.category = value.get<std::string>();
    } else if (key == "tags") {
      if (!value.is_array()) return Status::invalid_field(key, "expected a list of strings");
      if (value.size() > max_tags) return Status::invalid_field(key, "more than " + std::to_string(max_tags) + " tags");
      for (size_t k = 0; k < value.size(); ++k) {
        const std::string at = "tags[" + std::to_string(k) + "]";
        if (!value[k].is_string()) return Status::invalid_field(at, "expected a string");
        std::string tag = value[k].get<std::string>();
        if (tag.empty()) continue;  // an empty tag is no tag (docs/api.md)
        if (auto why = id_problem(tag)) return Status::invalid_field(at, *why);
        item.tags.push_back(std::move(tag));
      }
    } else if (key == "price") {
      if (value.is_null()) continue;
      if (!value.is_number()) return Status::invalid_field(key, "expected a finite number");
      if (auto why = value_problem(value.get<double>())) return Status::invalid_field(key, *why);
      item.price = value.get<float>();
    } else {
      return Status::invalid_field(key, "unknown field");
    }
  }
  if (!item.category.empty())
    if (auto why = id_problem(item.category)) return Status::invalid_field("category", *why);
  return item;
}

bool is_write(const std::string& method) { return method == "POST" || method == "PUT" || method == "DELETE"; }

}  // namespace

// Every string that reaches a response was checked to be UTF-8 at the edge; replacing bad
// bytes here only keeps a missed path from turning into an exception.
HttpResponse json_response(int status, const nlohmann::json& body) {
  return {status, "application/json", body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

// The error answer for `s`; `field` names the field when the Status does not.
HttpResponse from_status(const Status& s, std::string_view field) {
  return HttpApi::error(http_status_for(s), s.field().empty() ? field : std::string_view(s.field()), s.message());
}

// A whole number in [0, max].
Status read_size(const QueryParams& p, std::string_view name, size_t max, size_t* out) {
  const std::string* v = p.get(name);
  if (!v) return Status::ok();
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size() || n > max)
    return Status::invalid_field(std::string(name),
                                 "expected a whole number from 0 to " + std::to_string(max) + ", got '" + *v + "'");
  *out = static_cast<size_t>(n);
  return Status::ok();
}

// "Bearer <token>": the scheme is case-insensitive (RFC 7235), the token is not.
bool bearer_matches(std::string_view authorization, std::string_view key) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() < kScheme.size()) return false;
  for (size_t k = 0; k < kScheme.size(); ++k)
    if (std::tolower(static_cast<unsigned char>(authorization[k])) != kScheme[k]) return false;
  std::string_view token = authorization.substr(kScheme.size());
  while (token.starts_with(' ')) token.remove_prefix(1);
  return token == key;
}

HttpApi::HttpApi(Engine& engine, HttpApiOptions options) : engine_(engine), options_(std::move(options)) {}

HttpResponse HttpApi::error(int status, std::string_view field, std::string_view message) {
  json body = {{"error", message}};
  if (!field.empty()) body["field"] = field;
  return json_response(status, body);
}

ClusterStats HttpApi::cluster_stats() const {
  ClusterStats c = cluster_->stats();
  if (router_) {
    const RouterStats r = router_->stats();
    c.forwarded = r.forwarded;
    c.forward_failures = r.failures;
  }
  return c;
}

void HttpApi::handle(const HttpRequest& request, Respond respond) {
  const auto start = Clock::now();
  auto endpoint = std::make_shared<Endpoint>(Endpoint::kOther);
  // Exactly one answer even if routing throws after answering (or an answer throws).
  auto answered = std::make_shared<std::atomic<bool>>(false);
  Respond once = [this, start, endpoint, answered, respond = std::move(respond)](HttpResponse r) {
    if (answered->exchange(true)) return;
    metrics_.observe(*endpoint, r.status, std::chrono::duration<double>(Clock::now() - start).count());
    respond(std::move(r));
  };
  // The boundary: a bug or an exhausted resource in one request answers 500, never ends the process.
  try {
    route(request, endpoint.get(), once);
  } catch (const std::exception& e) {
    spdlog::error("http: {} {}: internal error: {}", request.method, request.target.substr(0, kLoggedTargetChars),
                  e.what());
    once(error(500, "", "internal error"));
  } catch (...) {
    spdlog::error("http: {} {}: internal error (unknown exception)", request.method,
                  request.target.substr(0, kLoggedTargetChars));
    once(error(500, "", "internal error"));
  }
}

// The endpoints (docs/api.md): a path, or a prefix followed by an ID, with its methods. What
// every route shares runs before its handler, in this order: the endpoint named for /metrics,
// the ID checked (prefix routes), the query parameters checked against the route's rules
// (null: the handler checks its own), then the method (405 when the path has no route for it).
struct HttpApi::Route {
  std::string_view method;  // GET also answers HEAD (the network layer drops the body)
  std::string_view path;    // ending in '/': a prefix, the rest of the path being the ID
  Endpoint endpoint;
  const ParamRules* params;
  std::string_view id_kind;  // "item" / "user" for prefix routes: errors name it
  void (HttpApi::*handle)(const Call&);
};

std::span<const HttpApi::Route> HttpApi::routes() {
  static const ParamRules kNone = kNoParams, kSimilar = kSimilarParams, kItemSearch = kItemSearchParams,
                          kUi = kUiParams;
  static const Route kRoutes[] = {
      {"GET", "/v1/recommend", Endpoint::kRecommend, nullptr, "", &HttpApi::get_recommend},
      {"GET", "/v1/similar", Endpoint::kSimilar, &kSimilar, "", &HttpApi::get_similar},
      {"POST", "/v1/events", Endpoint::kEvents, &kNone, "", &HttpApi::post_events},
      {"PUT", "/v1/items/", Endpoint::kItems, &kNone, "item", &HttpApi::put_item},
      {"DELETE", "/v1/items/", Endpoint::kItems, &kNone, "item", &HttpApi::delete_item},
      {"PUT", "/v1/users/", Endpoint::kUsers, &kNone, "user", &HttpApi::put_user},
      {"GET", "/v1/users/", Endpoint::kUsers, &kNone, "user", &HttpApi::get_user},
      {"POST", "/v1/retrain", Endpoint::kRetrain, &kNone, "", &HttpApi::post_retrain},
      {"GET", "/v1/model", Endpoint::kModel, &kNone, "", &HttpApi::get_model},
      {"GET", "/healthz", Endpoint::kHealth, &kNone, "", &HttpApi::get_health},
      {"GET", "/metrics", Endpoint::kMetrics, &kNone, "", &HttpApi::get_metrics},
      {"GET", "/v1/experiments", Endpoint::kExperiments, &kNone, "", &HttpApi::get_experiments},
      {"GET", "/v1/items", Endpoint::kItems, &kItemSearch, "", &HttpApi::get_items},
      {"GET", "/v1/items/", Endpoint::kItems, &kNone, "item", &HttpApi::get_item},
      {"GET", "/v1/history", Endpoint::kHistory, &kNone, "", &HttpApi::get_history},
      {"GET", "/v1/evaluation", Endpoint::kEvaluation, &kNone, "", &HttpApi::get_evaluation},
      {"GET", "/ui/", Endpoint::kUi, &kUi, "", &HttpApi::get_ui},
  };
  return kRoutes;
}

void HttpApi::route(const HttpRequest& req, Endpoint* endpoint, const Respond& respond) {
  std::string bad;
  auto target = parse_target(req.target, &bad);
  if (!target) {
    if (!is_valid_utf8(bad)) bad = "query";
    return respond(error(400, bad, "malformed percent-escape"));
  }
  if (Status e = check_query_text(*target); !e.is_ok()) return respond(from_status(e));
  if (is_write(req.method) && !options_.api_key.empty() && !bearer_matches(req.authorization, options_.api_key))
    return respond(error(401, "Authorization", "missing or wrong bearer token"));
  const std::string& path = target->path;
  auto matches = [&](const Route& r) { return r.path.ends_with('/') ? path.starts_with(r.path) : path == r.path; };
  const auto all = routes();
  const auto first = std::find_if(all.begin(), all.end(), matches);
  if (first == all.end()) {
    if (auto why = text_problem(path, 4096)) return respond(error(400, "path", *why));
    return respond(error(404, "path", "no such endpoint: " + path));
  }
  *endpoint = first->endpoint;
  const QueryParams params(*target, options_.max_list_values);
  Call call{req, params, "", respond};
  if (!first->id_kind.empty()) {
    call.id = path.substr(first->path.size());
    if (auto why = id_problem(call.id)) return call.answer(400, "id", std::string(first->id_kind) + " id: " + *why);
  }
  if (first->params)
    if (Status e = params.check(*first->params); !e.is_ok()) return call.answer(e);
  const std::string_view method = req.method == "HEAD" ? "GET" : std::string_view(req.method);
  for (auto r = first; r != all.end(); ++r)
    if (matches(*r) && r->method == method) return (this->*r->handle)(call);
  call.answer(405, "method", req.method + " is not allowed on " + path);
}

bool HttpApi::forwarded_to_owner(const Call& call, const std::string& user) {
  if (!router_ || call.req.forwarded) return false;
  auto answer = router_->route(call.req, user);
  if (!answer) return false;
  call.respond(std::move(*answer));
  return true;
}

void HttpApi::get_recommend(const Call& call) {
  auto parsed = parse_recommend(call.params);
  if (!parsed.is_ok()) return call.answer(parsed.status());
  const RecommendRequest& r = *parsed;
  if (forwarded_to_owner(call, r.user)) return;
  if (const std::string* arm = call.params.get("arm")) {
    // One arm asked for by name (to look at what it serves): answered by it, not counted.
    const auto names = engine_.arm_names();
    auto found = std::find(names.begin(), names.end(), *arm);
    if (found == names.end()) return call.answer(400, "arm", "no arm named '" + *arm + "'");
    RecommendRequest one = r;
    one.arm = static_cast<size_t>(found - names.begin());
    auto result = engine_.recommend(one);
    if (!result.is_ok()) return call.answer(result.status());
    json body = to_json(*result, "user", r.user, r.explain);
    body["arm"] = *arm;
    return call.respond(json_response(200, body));
  }
  if (experiment_) {
    auto body = recommend_in_experiment(r);
    if (!body.is_ok()) return call.answer(body.status());
    return call.respond(json_response(200, *body));
  }
  auto result = engine_.recommend(r);
  if (!result.is_ok()) return call.answer(result.status());
  call.respond(json_response(200, to_json(*result, "user", r.user, r.explain)));
}

void HttpApi::get_similar(const Call& call) {
  SimilarRequest r;
  const std::string* item = call.params.get("item");
  if (!item || item->empty()) return call.answer(400, "item", "required");
  r.item = *item;
  for (Status e : {read_list(call.params, "category", &r.categories), read_size(call.params, "k", kMaxK, &r.k),
                   read_bool(call.params, "explain", &r.explain)})
    if (!e.is_ok()) return call.answer(e);
  auto result = engine_.similar(r);
  if (!result.is_ok()) return call.answer(result.status());
  call.respond(json_response(200, to_json(*result, "item", r.item, r.explain)));
}

void HttpApi::post_events(const Call& call) {
  auto parsed = parse_events(call.req.body, options_.max_batch_events);
  if (!parsed.is_ok()) return call.answer(parsed.status());
  std::vector<Event>& events = *parsed;
  if (Status e = Engine::validate(events); !e.is_ok()) return call.answer(e);
  const size_t n = events.size();
  // Events answering a served list are attributed once they are accepted.
  std::vector<Event> answering;
  if (experiment_)
    for (const Event& e : events)
      if (!e.rec_id.empty()) answering.push_back({e.user, e.item, e.type, 0.f, 0, e.rec_id});
  auto answer = [this, n, respond = call.respond, answering = std::move(answering)](const Status& st) {
    if (!st.is_ok()) return respond(from_status(st, "events"));
    metrics_.add_events(n);
    for (const Event& e : answering) experiment_->attribute(e.rec_id, e.user, e.item, e.type);
    respond(json_response(200, {{"accepted", n}}));
  };
  if (event_sink_) return event_sink_(std::move(events), std::move(answer));
  engine_.ingest_async(std::move(events), std::move(answer));
}

void HttpApi::put_item(const Call& call) {
  auto parsed = parse_item(call.id, call.req.body, options_.max_list_values);
  if (!parsed.is_ok()) return call.answer(parsed.status());
  if (Status st = engine_.put_item(std::move(*parsed)); !st.is_ok()) return call.answer(st);
  call.respond(json_response(200, {{"item", call.id}}));
}

void HttpApi::delete_item(const Call& call) {
  if (Status st = engine_.hide_item(call.id); !st.is_ok()) return call.answer(st, "id");
  call.respond(json_response(200, {{"item", call.id}, {"hidden", true}}));
}

void HttpApi::put_user(const Call& call) {
  if (forwarded_to_owner(call, call.id)) return;  // a user's attributes live with their owner
  // Checked before parsing: the size bounds the parser's work, and an empty body is a
  // mistake, not a request to clear the attributes (send {} for that).
  const std::string& body = call.req.body;
  if (body.empty()) return call.answer(400, "body", "required: a JSON object ({} clears the attributes)");
  if (auto why = text_problem(body, Engine::kMaxUserAttributesBytes)) return call.answer(400, "body", *why);
  auto parsed = parse_json_body(body, "{}");
  if (!parsed.is_ok()) return call.answer(parsed.status());
  if (!parsed->is_object()) return call.answer(400, "body", "expected a JSON object");
  if (Status st = engine_.put_user({call.id, parsed->dump()}); !st.is_ok()) return call.answer(st);
  call.respond(json_response(200, {{"user", call.id}}));
}

void HttpApi::get_user(const Call& call) {
  if (forwarded_to_owner(call, call.id)) return;  // as is their history
  auto info = engine_.user_info(call.id);
  if (!info) return call.answer(404, "id", "unknown user '" + call.id + "'");
  json history = json::array();
  for (const auto& [item, w] : info->history) history.push_back({{"item", item}, {"weight", w}});
  json events = json::array();
  for (const Event& e : info->events)
    events.push_back({{"item", e.item}, {"type", e.type}, {"value", e.value}, {"timestamp", e.timestamp}});
  call.respond(json_response(200, {{"user", call.id},
                                   {"history", std::move(history)},
                                   {"recent", info->recent},
                                   {"events", events},
                                   {"attributes", json::parse(info->attributes_json, nullptr, false)}}));
}

void HttpApi::post_retrain(const Call& call) {
  // In a cluster only the leader trains and numbers models; a replica retraining on its own
  // share of the events would serve a model nobody else has under a number the leader
  // will use too.
  if (cluster_ && !cluster_->stats().leader)
    return call.answer(409, "",
                       "this replica is not the cluster's leader: retrains run on the leading trainer "
                       "(send POST /v1/retrain to it; GET /healthz says which replica leads)");
  // Training takes seconds: the engine's retrain thread answers when the new model serves.
  engine_.request_retrain([this, respond = call.respond](const Status& st) {
    if (!st.is_ok()) return respond(error(st.code() == Status::Code::kNoSpace ? 507 : 500, "", st.message()));
    respond(json_response(200, {{"model_version", engine_.stats().model_version}}));
  });
}

void HttpApi::get_model(const Call& call) {
  const EngineStats st = engine_.stats();
  if (st.model_version == 0) return call.answer(404, "model", "no model yet (too few events to train)");
  json weights = json::object();
  for (const auto& [component, weight] : st.fusion_weights) weights[component] = weight;
  call.respond(json_response(200, {{"model_version", st.model_version},
                                   {"kind", st.model_kind},
                                   {"spec", st.model_spec},
                                   {"trained_at", st.model_trained_at},
                                   {"train_seconds", st.last_train_seconds},
                                   {"fusion_weights", std::move(weights)},
                                   {"tuned", st.model_note.empty()},
                                   {"note", st.model_note}}));
}

void HttpApi::get_health(const Call& call) {
  const EngineStats st = engine_.stats();
  // Degraded: reads are served, writes are refused until the store can write again.
  json health = {{"status", st.store.writable ? "ok" : "degraded"},
                 {"model_version", st.model_version},
                 {"events", st.events},
                 {"users", st.users},
                 {"items", st.items}};
  health["store"] = {{"writable", st.store.writable},
                     {"write_failures", st.store.write_failures},
                     {"recoveries", st.store.recoveries},
                     {"damaged_events", st.damaged_events}};
  if (!st.store.writable) health["store"]["problem"] = st.store.problem;
  if (kafka_) {
    const KafkaStats k = kafka_->stats();
    health["kafka"] = {{"connected", k.connected}, {"partitions", k.partitions}, {"messages", k.messages}};
  }
  if (cluster_) {
    const ClusterStats c = cluster_stats();
    health["cluster"] = {{"replica", cluster_->replica_id()},        {"leader", c.leader},
                         {"redis_connected", c.redis_connected},     {"published_version", c.published_version},
                         {"installed_version", c.installed_version}, {"forwarded", c.forwarded},
                         {"forward_failures", c.forward_failures}};
  }
  call.respond(json_response(200, health));
}

void HttpApi::get_metrics(const Call& call) {
  std::optional<KafkaStats> kafka;
  if (kafka_) kafka = kafka_->stats();
  std::optional<ClusterStats> cluster;
  if (cluster_) cluster = cluster_stats();
  std::string text =
      metrics_.render(engine_.stats(), std::time(nullptr), kafka ? &*kafka : nullptr, cluster ? &*cluster : nullptr);
  if (experiment_) text += experiment_->render_metrics();
  call.respond({200, kPrometheusTextFormat, std::move(text)});
}

void HttpApi::get_experiments(const Call& call) { call.respond(json_response(200, experiments_json())); }

namespace {

// Team-draft interleaving of two arms' answers to one request. Pins sit at the same places in
// both lists and stay there, belonging to no arm; the rest is drafted from the two rankings.
// (*arms)[k] is the arm that placed item k of the result (Experiment::kNoArm for a pin).
RecommendResponse interleave(const RecommendResponse (&answers)[2], size_t k, uint64_t key, std::vector<size_t>* arms) {
  std::vector<std::string> rankings[2];
  std::unordered_map<std::string, const Recommendation*> by_item[2];
  std::vector<std::pair<size_t, const Recommendation*>> pins;
  for (size_t arm = 0; arm < 2; ++arm)
    for (size_t at = 0; at < answers[arm].items.size(); ++at) {
      const Recommendation& rec = answers[arm].items[at];
      if (rec.pinned) {
        if (arm == 0) pins.emplace_back(at, &rec);
        continue;
      }
      rankings[arm].push_back(rec.item);
      by_item[arm][rec.item] = &rec;
    }
  const size_t drafted = k > pins.size() ? k - pins.size() : 0;
  RecommendResponse merged;
  merged.source = answers[0].source == answers[1].source ? answers[0].source : "personal";
  merged.model_version = answers[0].model_version;
  arms->clear();
  for (const DraftPick& pick : Experiment::team_draft(rankings[0], rankings[1], drafted, key)) {
    merged.items.push_back(*by_item[pick.arm].at(pick.item));
    arms->push_back(pick.arm);
  }
  for (const auto& [at, rec] : pins) {  // ascending positions: earlier pins keep their place
    const size_t where = std::min(at, merged.items.size());
    merged.items.insert(merged.items.begin() + static_cast<std::ptrdiff_t>(where), *rec);
    arms->insert(arms->begin() + static_cast<std::ptrdiff_t>(where), Experiment::kNoArm);
  }
  return merged;
}

}  // namespace

Result<json> HttpApi::recommend_in_experiment(const RecommendRequest& request) {
  Experiment& e = *experiment_;
  const Experiment::ListId list = e.next_list();
  const bool ab = e.options().mode == ExperimentMode::kAB;
  RecommendResponse answer;
  std::vector<size_t> arms;  // per served item, the arm that placed it
  size_t serving_arm = Experiment::kNoArm;
  if (ab) {
    RecommendRequest r = request;
    r.arm = serving_arm = e.assign(request.user);
    NUDGE_ASSIGN_OR_RETURN(answer, engine_.recommend(r));
    arms.assign(answer.items.size(), r.arm);
  } else {
    RecommendResponse answers[2];  // both arms answer the same request
    for (size_t arm = 0; arm < 2; ++arm) {
      RecommendRequest r = request;
      r.arm = arm;
      NUDGE_ASSIGN_OR_RETURN(answers[arm], engine_.recommend(r));
    }
    answer = interleave(answers, request.k, list.key, &arms);
  }
  std::vector<std::string> items;
  std::vector<size_t> credited;
  for (size_t k = 0; k < answer.items.size(); ++k) {
    items.push_back(answer.items[k].item);
    credited.push_back(answer.items[k].pinned ? Experiment::kNoArm : arms[k]);  // a pin is the business's
  }
  e.record(list, request.user, serving_arm, items, credited);
  json body = to_json(answer, "user", request.user, request.explain);
  if (ab) {
    body["arm"] = e.arms()[serving_arm];
  } else {
    for (size_t k = 0; k < arms.size(); ++k)
      if (arms[k] != Experiment::kNoArm) body["items"][k]["arm"] = e.arms()[arms[k]];
    body["arm"] = "interleaved";
  }
  body["experiment"] = e.options().name;
  body["rec_id"] = list.rec_id;
  return body;
}

json HttpApi::experiments_json() const {
  json list = json::array();
  if (experiment_) {
    const ExperimentReport r = experiment_->report();
    auto number = [](double x) { return std::isnan(x) ? json(nullptr) : json(x); };
    json arms = json::array();
    for (const ArmReport& a : r.arms) {
      json arm = {{"name", a.name},
                  {"impressions", a.impressions},
                  {"clicks", a.clicks},
                  {"clicked_lists", a.clicked},
                  {"ctr", a.ctr},
                  {"ctr_ci95", {a.ctr_low, a.ctr_high}},
                  {"conversions", a.conversions},
                  {"converted_lists", a.converted},
                  {"conversion_rate", a.conversion_rate},
                  {"conversion_rate_ci95", {a.conversion_low, a.conversion_high}}};
      if (r.mode == ExperimentMode::kAB) arm["p_value_vs_control"] = number(a.p_value);
      else arm["wins"] = a.wins;
      arms.push_back(std::move(arm));
    }
    json one = {{"name", r.name},
                {"mode", r.mode == ExperimentMode::kAB ? "ab" : "interleave"},
                {"arms", std::move(arms)},
                {"unattributed",
                 {{"unknown_rec_id", r.unknown_rec_id}, {"not_in_list", r.not_in_list}, {"other_user", r.other_user}}}};
    if (r.mode == ExperimentMode::kInterleave)
      one["interleaving"] = {{"ties", r.ties}, {"preference", number(r.preference)}, {"p_value", number(r.p_value)}};
    list.push_back(std::move(one));
  }
  return {{"experiments", std::move(list)}};
}

}  // namespace nudge::serve
