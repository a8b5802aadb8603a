#include "serve/experiment.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <unordered_set>

#include "nudge/rng.h"

namespace nudge::serve {
namespace {

constexpr uint32_t kBuckets = 10000;  // A/B shares are set in 0.01% steps
constexpr uint8_t kUncredited = 255;
constexpr double kZ95 = 1.959963984540054;

uint64_t mix64(uint64_t x) {  // SplitMix64's finaliser: a bijection that spreads every bit
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// FNV-1a, then mixed: fixed by its definition, so the same on every machine and build
// (std::hash is not).
uint64_t stable_hash(std::string_view text, uint64_t h = 0xcbf29ce484222325ULL) {
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ULL;
  return mix64(h);
}

void wilson(uint64_t successes, uint64_t n, double* rate, double* low, double* high) {
  if (n == 0) {
    *rate = 0, *low = 0, *high = 1;
    return;
  }
  const double p = static_cast<double>(successes) / static_cast<double>(n), m = static_cast<double>(n);
  const double z2 = kZ95 * kZ95, denom = 1 + z2 / m;
  const double centre = (p + z2 / (2 * m)) / denom;
  const double half = kZ95 * std::sqrt(p * (1 - p) / m + z2 / (4 * m * m)) / denom;
  *rate = p;
  *low = std::max(0.0, centre - half);
  *high = std::min(1.0, centre + half);
}

double two_sided_p(double z) { return std::erfc(std::abs(z) / std::sqrt(2.0)); }

// Two-proportion z-test (pooled variance) of x1/n1 against x0/n0.
double two_proportion_p(uint64_t x0, uint64_t n0, uint64_t x1, uint64_t n1) {
  if (n0 == 0 || n1 == 0) return std::nan("");
  const double p0 = static_cast<double>(x0) / static_cast<double>(n0);
  const double p1 = static_cast<double>(x1) / static_cast<double>(n1);
  const double pooled = static_cast<double>(x0 + x1) / static_cast<double>(n0 + n1);
  const double se = std::sqrt(pooled * (1 - pooled) * (1.0 / static_cast<double>(n0) + 1.0 / static_cast<double>(n1)));
  return se > 0 ? two_sided_p((p1 - p0) / se) : 1.0;
}

// 0: no clicks, 1: the first arm wins, 2: the second, 3: a tie.
int outcome(const uint32_t clicks[2]) {
  if (clicks[0] == 0 && clicks[1] == 0) return 0;
  return clicks[0] > clicks[1] ? 1 : clicks[1] > clicks[0] ? 2 : 3;
}

bool listed(const std::vector<std::string>& types, std::string_view type) {
  return std::find(types.begin(), types.end(), type) != types.end();
}

}  // namespace

Status check_experiment_name(std::string_view name, const std::string& field) {
  if (name.empty() || name.size() > 64) return Status::invalid_field(field, "must be 1 to 64 characters");
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.')
      return Status::invalid_field(field, "may hold only letters, digits, '_', '-' and '.'");
  return Status::ok();
}

Experiment::Experiment(ExperimentOptions options, std::vector<std::string> arms)
    : options_(std::move(options)), arms_(std::move(arms)), counts_(arms_.size()) {}

Result<std::unique_ptr<Experiment>> Experiment::create(ExperimentOptions options, std::vector<std::string> arms) {
  NUDGE_RETURN_IF_ERROR(check_experiment_name(options.name, "experiment.name"));
  if (arms.size() < 2 || arms.size() > kMaxArms)
    return Status::invalid_field("experiment.arms", "needs 2 to " + std::to_string(kMaxArms) + " arms");
  if (options.mode == ExperimentMode::kInterleave && arms.size() != 2)
    return Status::invalid_field("experiment.arms", "interleaving compares exactly 2 arms");
  if (options.mode == ExperimentMode::kInterleave && !options.weights.empty())
    return Status::invalid_field("experiment.weights", "interleaving shows every user both arms; weights are for A/B");
  if (options.weights.empty()) options.weights.assign(arms.size(), 1.0);
  if (options.weights.size() != arms.size())
    return Status::invalid_field("experiment.weights",
                                 "needs one weight per arm (" + std::to_string(arms.size()) + ")");
  double total = 0;
  for (double w : options.weights) {
    if (!(w >= 0 && w <= 1e9)) return Status::invalid_field("experiment.weights", "must be numbers from 0 to 1e9");
    total += w;
  }
  if (!(total > 0)) return Status::invalid_field("experiment.weights", "at least one must be > 0");
  if (options.remember < 1) return Status::invalid_field("experiment.remember", "must be >= 1");
  for (const auto& t : options.click_types)
    if (listed(options.conversion_types, t))
      return Status::invalid_field("experiment.conversion_types", "'" + t + "' is also a click type");
  std::unique_ptr<Experiment> e(new Experiment(std::move(options), std::move(arms)));
  double cumulative = 0;
  for (double w : e->options_.weights) {
    cumulative += w;
    e->bucket_end_.push_back(static_cast<uint32_t>(std::lround(kBuckets * cumulative / total)));
  }
  e->bucket_end_.back() = kBuckets;
  e->salt_ =
      e->options_.seed != 0 ? e->options_.seed : (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  return e;
}

size_t Experiment::assign(std::string_view user) const {
  const uint32_t bucket = static_cast<uint32_t>(stable_hash(user, stable_hash(options_.name)) % kBuckets);
  return static_cast<size_t>(std::upper_bound(bucket_end_.begin(), bucket_end_.end(), bucket) - bucket_end_.begin());
}

std::vector<DraftPick> Experiment::team_draft(const std::vector<std::string>& first,
                                              const std::vector<std::string>& second, size_t k, uint64_t seed) {
  Rng coin(seed);
  std::vector<DraftPick> out;
  std::unordered_set<std::string_view> taken;
  size_t at[2] = {0, 0}, picks[2] = {0, 0};
  const std::vector<std::string>* rankings[2] = {&first, &second};
  auto next_of = [&](size_t arm) -> const std::string* {
    const auto& r = *rankings[arm];
    while (at[arm] < r.size() && taken.count(r[at[arm]])) ++at[arm];
    return at[arm] < r.size() ? &r[at[arm]] : nullptr;
  };
  while (out.size() < k) {
    const std::string* best[2] = {next_of(0), next_of(1)};
    if (!best[0] && !best[1]) break;
    size_t arm = picks[0] < picks[1] ? 0 : picks[1] < picks[0] ? 1 : coin.next_u64() & 1;
    if (!best[arm]) arm = 1 - arm;  // one ranking ran out: the other goes on alone
    taken.insert(*best[arm]);
    out.push_back({*best[arm], arm});
    ++picks[arm];
  }
  return out;
}

Experiment::ListId Experiment::next_list() {
  std::lock_guard lock(mutex_);
  ListId id;
  id.key = mix64(salt_ + ++next_);  // a bijection of the counter: never repeats in a process
  id.rec_id = fmt::format("{:016x}", id.key);
  return id;
}

void Experiment::record(const ListId& id, std::string_view user, size_t arm, const std::vector<std::string>& items,
                        const std::vector<size_t>& credited) {
  List list;
  list.user = stable_hash(user);
  list.arm = arm == kNoArm ? kUncredited : static_cast<uint8_t>(arm);
  list.items.reserve(items.size());
  for (const auto& item : items) list.items.push_back(stable_hash(item));
  for (size_t c : credited) list.credited.push_back(c == kNoArm ? kUncredited : static_cast<uint8_t>(c));
  std::lock_guard lock(mutex_);
  if (arm == kNoArm)
    for (auto& c : counts_) ++c.impressions;
  else ++counts_[arm].impressions;
  while (lists_.size() >= options_.remember && !order_.empty()) {
    lists_.erase(order_.front());
    order_.pop_front();
  }
  lists_[id.key] = std::move(list);
  order_.push_back(id.key);
}

void Experiment::attribute(std::string_view rec_id, std::string_view user, std::string_view item,
                           std::string_view type) {
  const bool click = listed(options_.click_types, type);
  if (!click && !listed(options_.conversion_types, type)) return;
  uint64_t key = 0;
  bool parsed = rec_id.size() == 16;
  for (char c : rec_id) {
    const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) parsed = false;
    key = key << 4 | static_cast<uint64_t>(digit & 15);
  }
  const uint64_t item_hash = stable_hash(item), user_hash = stable_hash(user);
  std::lock_guard lock(mutex_);
  auto found = parsed ? lists_.find(key) : lists_.end();
  if (found == lists_.end()) {
    ++unknown_rec_id_;
    return;
  }
  List& list = found->second;
  if (list.user != user_hash) {
    ++other_user_;
    return;
  }
  auto at = std::find(list.items.begin(), list.items.end(), item_hash);
  const uint8_t arm =
      at == list.items.end() ? kUncredited : list.credited[static_cast<size_t>(at - list.items.begin())];
  if (arm == kUncredited) {
    ++not_in_list_;
    return;
  }
  Counts& c = counts_[arm];
  const uint32_t bit = 1u << arm;
  if (!click) {
    ++c.conversions;
    if (!(list.converted_arms & bit)) ++c.converted;
    list.converted_arms |= bit;
    return;
  }
  ++c.clicks;
  if (!(list.clicked_arms & bit)) ++c.clicked;
  list.clicked_arms |= bit;
  if (list.arm != kUncredited) return;
  // Interleaved: the list's outcome may change with this click; move its count.
  const int before = outcome(list.clicks);
  ++list.clicks[arm];
  const int after = outcome(list.clicks);
  if (before == after) return;
  if (before == 1 || before == 2) --counts_[static_cast<size_t>(before - 1)].wins;
  if (before == 3) --ties_;
  if (after == 1 || after == 2) ++counts_[static_cast<size_t>(after - 1)].wins;
  if (after == 3) ++ties_;
}

ExperimentReport Experiment::report() const {
  ExperimentReport r;
  r.name = options_.name;
  r.mode = options_.mode;
  std::vector<Counts> counts;
  {
    std::lock_guard lock(mutex_);
    counts = counts_;
    r.ties = ties_;
    r.unknown_rec_id = unknown_rec_id_;
    r.not_in_list = not_in_list_;
    r.other_user = other_user_;
  }
  for (size_t k = 0; k < arms_.size(); ++k) {
    const Counts& c = counts[k];
    ArmReport a;
    a.name = arms_[k];
    a.impressions = c.impressions, a.clicks = c.clicks, a.clicked = c.clicked;
    a.conversions = c.conversions, a.converted = c.converted, a.wins = c.wins;
    wilson(c.clicked, c.impressions, &a.ctr, &a.ctr_low, &a.ctr_high);
    wilson(c.converted, c.impressions, &a.conversion_rate, &a.conversion_low, &a.conversion_high);
    a.p_value = r.mode == ExperimentMode::kAB && k > 0
                    ? two_proportion_p(counts[0].clicked, counts[0].impressions, c.clicked, c.impressions)
                    : std::nan("");
    r.arms.push_back(std::move(a));
  }
  r.preference = r.p_value = std::nan("");
  if (r.mode == ExperimentMode::kInterleave) {
    const double a = static_cast<double>(counts[0].wins), b = static_cast<double>(counts[1].wins);
    const double decided = a + b, clicked = decided + static_cast<double>(r.ties);
    if (clicked > 0) r.preference = (a + static_cast<double>(r.ties) / 2) / clicked - 0.5;
    // Sign test, normal approximation with continuity correction.
    if (decided > 0) r.p_value = two_sided_p(std::max(0.0, std::abs(a - b) - 1) / std::sqrt(decided));
  }
  return r;
}

std::string Experiment::render_metrics() const {
  const ExperimentReport r = report();
  std::string out;
  auto counter = [&](const char* name, const char* help, auto value_of) {
    out += fmt::format("# HELP nudge_experiment_{}_total {}\n# TYPE nudge_experiment_{}_total counter\n", name, help,
                       name);
    for (const ArmReport& a : r.arms)
      out += fmt::format("nudge_experiment_{}_total{{experiment=\"{}\",arm=\"{}\"}} {}\n", name, r.name, a.name,
                         value_of(a));
  };
  counter("impressions", "Lists served in the arm (interleaving: every list, for both arms).",
          [](const ArmReport& a) { return a.impressions; });
  counter("clicks", "Click events attributed to the arm through their rec_id.",
          [](const ArmReport& a) { return a.clicks; });
  counter("conversions", "Conversion events attributed to the arm through their rec_id.",
          [](const ArmReport& a) { return a.conversions; });
  if (r.mode == ExperimentMode::kInterleave)
    counter("wins", "Interleaved lists whose clicks favour the arm.", [](const ArmReport& a) { return a.wins; });
  out += fmt::format(
      "# HELP nudge_experiment_unattributed_total Click and conversion events whose rec_id is not remembered, or "
      "whose item no arm is credited with, or whose user is not the list's.\n"
      "# TYPE nudge_experiment_unattributed_total counter\n"
      "nudge_experiment_unattributed_total{{experiment=\"{}\",reason=\"unknown_rec_id\"}} {}\n"
      "nudge_experiment_unattributed_total{{experiment=\"{}\",reason=\"not_in_list\"}} {}\n"
      "nudge_experiment_unattributed_total{{experiment=\"{}\",reason=\"other_user\"}} {}\n",
      r.name, r.unknown_rec_id, r.name, r.not_in_list, r.name, r.other_user);
  return out;
}

}  // namespace nudge::serve
