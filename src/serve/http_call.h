// What HttpApi's route handlers share (internal to src/serve): the request being answered
// (HttpApi::Call), the query parameters checked against a route's rules, and the answer
// helpers. http_api.cc holds the routes and most handlers, http_api_console.cc the console's.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nudge/input_limits.h"
#include "nudge/status.h"
#include "serve/http_api.h"
#include "serve/query_string.h"

namespace nudge::serve {

HttpResponse json_response(int status, const nlohmann::json& body);
// The error answer for `s`; `field` names the field when the Status does not.
HttpResponse from_status(const Status& s, std::string_view field = {});

// How a query parameter is checked before its route reads it.
enum class ParamKind {
  kValue,   // once; its route parses it (k, explain, ...)
  kId,      // once; an ID (user, item): 1..256 bytes of UTF-8
  kIdList,  // repeatable, comma-separated IDs (exclude, category, tag)
  kList,    // repeatable, comma-separated values its route parses (pin, boost)
};
struct ParamRule {
  std::string_view name;
  ParamKind kind;
};
using ParamRules = std::span<const ParamRule>;

// Query parameters of one request, checked against the rules of its route.
class QueryParams {
 public:
  QueryParams(const QueryString& q, size_t max_list_values) : q_(q), max_list_values_(max_list_values) {}
  Status check(ParamRules rules) const {
    for (size_t a = 0; a < q_.params.size(); ++a) {
      const auto& [name, value] = q_.params[a];
      const ParamRule* rule = nullptr;
      for (const ParamRule& r : rules)
        if (r.name == name) rule = &r;
      if (!rule) return Status::invalid_field(name, "unknown parameter");
      const bool list = rule->kind == ParamKind::kIdList || rule->kind == ParamKind::kList;
      bool repeated = false;
      for (size_t b = 0; b < a && !repeated; ++b) repeated = q_.params[b].first == name;
      if (repeated && !list) return Status::invalid_field(name, "given more than once");
      if (rule->kind == ParamKind::kId && !value.empty())
        if (auto why = id_problem(value)) return Status::invalid_field(name, *why);
      if (rule->kind == ParamKind::kIdList && !repeated) {  // every occurrence, once
        NUDGE_ASSIGN_OR_RETURN(const std::vector<std::string> ids, this->list(name));
        for (const std::string& id : ids)
          if (auto why = id_problem(id)) return Status::invalid_field(name, *why);
      }
    }
    return Status::ok();
  }
  const std::string* get(std::string_view name) const {
    for (const auto& [n, v] : q_.params)
      if (n == name) return &v;  // check() refused a second one
    return nullptr;
  }
  // Every value of a repeatable, comma-separated parameter; at most max_list_values of them.
  Result<std::vector<std::string>> list(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [n, v] : q_.params) {
      if (n != name) continue;
      size_t start = 0;
      while (start <= v.size()) {
        const size_t comma = v.find(',', start);
        std::string part = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!part.empty()) out.push_back(std::move(part));
        if (out.size() > max_list_values_)
          return Status::invalid_field(std::string(name), "more than " + std::to_string(max_list_values_) + " values");
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
    return out;
  }

 private:
  const QueryString& q_;
  size_t max_list_values_;
};

// A whole number in [0, max] (absent: *out unchanged).
Status read_size(const QueryParams& p, std::string_view name, size_t max, size_t* out);
// "Bearer <token>": the scheme is case-insensitive (RFC 7235), the token is not.
bool bearer_matches(std::string_view authorization, std::string_view key);

// One request being answered: what every handler reads.
struct HttpApi::Call {
  const HttpRequest& req;
  const QueryParams& params;
  std::string id;  // the {id} of /v1/items/{id} and /v1/users/{id}, checked; else empty
  const Respond& respond;
  void answer(const Status& e, std::string_view field = "") const { respond(from_status(e, field)); }
  void answer(int status, std::string_view field, std::string_view message) const {
    respond(error(status, field, message));
  }
};

}  // namespace nudge::serve
