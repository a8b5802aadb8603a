#include "nudge/params.h"

#include "common/text.h"
#include "nudge/param_table.h"

namespace nudge {

std::string param_number_text(double v) { return fmt_number(v); }

Result<Params> Params::parse(std::string_view spec) {
  Params p;
  for (std::string_view entry : split_view(spec, ',')) {
    entry = trim(entry);
    if (entry.empty()) continue;
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Status::invalid_argument("parameters: expected key=value, got '" + std::string(entry) + "'");
    }
    std::string key(trim(entry.substr(0, eq)));
    if (p.values_.contains(key)) return Status::invalid_argument("parameters: '" + key + "' given twice");
    p.values_[key] = std::string(trim(entry.substr(eq + 1)));
  }
  return p;
}

Status Params::read_int(std::string_view owner, std::string_view key, int64_t min, int64_t max, int64_t* out) const {
  auto it = values_.find(std::string(key));
  if (it == values_.end()) return Status::ok();
  auto v = parse_int64(it->second);
  if (!v || *v < min || *v > max) {
    return Status::invalid_argument(std::string(owner) + ": parameter '" + std::string(key) +
                                    "' must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
                                    "], got '" + it->second + "'");
  }
  *out = *v;
  return Status::ok();
}

Status Params::read_double(std::string_view owner, std::string_view key, double min, double max, double* out) const {
  auto it = values_.find(std::string(key));
  if (it == values_.end()) return Status::ok();
  auto v = parse_double(it->second);
  if (!v || !(*v >= min && *v <= max)) {
    return Status::invalid_argument(std::string(owner) + ": parameter '" + std::string(key) +
                                    "' must be a number in [" + fmt_number(min) + ", " + fmt_number(max) + "], got '" +
                                    it->second + "'");
  }
  *out = *v;
  return Status::ok();
}

Status Params::read_bool(std::string_view owner, std::string_view key, bool* out) const {
  auto it = values_.find(std::string(key));
  if (it == values_.end()) return Status::ok();
  if (it->second == "true" || it->second == "1") *out = true;
  else if (it->second == "false" || it->second == "0") *out = false;
  else {
    return Status::invalid_argument(std::string(owner) + ": parameter '" + std::string(key) +
                                    "' must be true or false, got '" + it->second + "'");
  }
  return Status::ok();
}

Status Params::read_string(std::string_view owner, std::string_view key, std::string* out) const {
  auto it = values_.find(std::string(key));
  if (it == values_.end()) return Status::ok();
  if (it->second.empty()) {
    return Status::invalid_argument(std::string(owner) + ": parameter '" + std::string(key) + "' is empty");
  }
  *out = it->second;
  return Status::ok();
}

Status Params::read_choice(std::string_view owner, std::string_view key, const std::set<std::string>& choices,
                           std::string* out) const {
  auto it = values_.find(std::string(key));
  if (it == values_.end()) return Status::ok();
  if (!choices.contains(it->second)) {
    std::string known;
    for (const auto& c : choices) known += (known.empty() ? "" : ", ") + c;
    return Status::invalid_argument(std::string(owner) + ": parameter '" + std::string(key) + "' must be one of " +
                                    known + ", got '" + it->second + "'");
  }
  *out = it->second;
  return Status::ok();
}

Status Params::check_known(std::string_view owner, const std::set<std::string>& known) const {
  for (const auto& [k, v] : values_) {
    if (known.contains(k)) continue;
    std::string list;
    for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
    return Status::invalid_argument(std::string(owner) + ": unknown parameter '" + k + "' (known: " + list + ")");
  }
  return Status::ok();
}

std::string Params::to_string() const {
  std::string out;
  for (const auto& [k, v] : values_) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

}  // namespace nudge
