#include "nudge/models/sasrec.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "nudge/log.h"
#include "nudge/models/factors.h"
#include "nudge/nn/adam.h"
#include "nudge/nn/softmax_loss.h"
#include "nudge/parallel.h"
#include "nudge/param_table.h"
#include "nudge/progress.h"
#include "nudge/rng.h"
#include "nudge/serialize.h"
#include "sasrec_network.h"

namespace nudge {
namespace {

using nn::Matrix;

// Up to this many items the full softmax is affordable on a CPU (measured in the note of
// issue 29: at 54k items it costs 30x the sampled loss per epoch for a small gain).
constexpr uint32_t kFullSoftmaxItems = 20'000;
constexpr size_t kValidationCutoff = 10;    // NDCG@10 for early stopping
constexpr double kNegativeExponent = 0.75;  // negatives drawn by popularity^0.75

// One chunk's share of a batch's gradient; item rows are summed only where touched.
struct ThreadGrad {
  AlignedFloats weights, items;
  std::vector<uint8_t> touched;
  std::vector<uint32_t> touched_rows;
  double loss = 0;
  void touch(uint32_t row) {
    if (!touched[row]) touched[row] = 1, touched_rows.push_back(row);
  }
};

uint64_t mix(uint64_t a, uint64_t b) { return (a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2))); }

}  // namespace

const ParamTable<SasrecOptions>& SasrecOptions::parameters() {
  using T = ParamTable<SasrecOptions>;
  static const T kTable({
      T::integer("factors", &SasrecOptions::factors, 2, 1024, "embedding width d (a multiple of heads)"),
      T::integer("blocks", &SasrecOptions::blocks, 0, 16, "transformer blocks"),
      T::integer("heads", &SasrecOptions::heads, 1, 64, "attention heads per block"),
      T::integer("max_length", &SasrecOptions::max_length, 1, 4096, "most recent items encoded (L)"),
      T::number("dropout", &SasrecOptions::dropout, 0, 0.9, "on inputs, attention and feed-forward outputs"),
      T::integer("epochs", &SasrecOptions::epochs, 0, 100000, "at most (early stopping usually ends sooner)"),
      T::number("learning_rate", &SasrecOptions::learning_rate, 0, 1, "Adam"),
      T::integer("batch", &SasrecOptions::batch, 1, 1'000'000, "sequences per Adam step"),
      T::choice("loss", &SasrecOptions::loss, {"auto", "full", "sampled"},
                "softmax over every item (full), over sampled negatives with log-Q correction (sampled); "
                "auto: full up to 20,000 items"),
      T::integer("negatives", &SasrecOptions::negatives, 1, 1'000'000, "sampled loss: negatives shared by a batch"),
      T::integer("validation_users", &SasrecOptions::validation_users, 0, 1'000'000'000,
                 "users whose last item is held out for early stopping (0: none)"),
      T::integer("patience", &SasrecOptions::patience, 1, 1000, "epochs without a validation gain before stopping"),
      T::boolean("features", &SasrecOptions::features,
                 "add the mean of the item's categorical feature tokens to its embedding (when the data has them)"),
      T::integer("threads", &SasrecOptions::threads, 0, 1024, "0 = all cores"),
      T::integer("seed", &SasrecOptions::seed, 0, INT64_MAX, "random seed"),
  });
  return kTable;
}

Result<SasrecOptions> SasrecOptions::from_params(const Params& p) {
  SasrecOptions o;
  NUDGE_RETURN_IF_ERROR(parameters().read("sasrec", p, &o));
  if (o.factors % o.heads != 0)
    return Status::invalid_argument("sasrec: factors (" + std::to_string(o.factors) +
                                    ") must be a multiple of heads (" + std::to_string(o.heads) + ")");
  return o;
}

SasrecModel::SasrecModel(SasrecOptions options, Params params)
    : options_(std::move(options)),
      params_(std::move(params)),
      network_(std::make_unique<SasrecNetwork>(
          SasrecShape{static_cast<int>(options_.factors), static_cast<int>(options_.blocks),
                      static_cast<int>(options_.heads), static_cast<int>(options_.max_length)})) {}

SasrecModel::~SasrecModel() = default;

void SasrecModel::init_weights(const Dataset& train, Rng& rng) {
  const uint32_t n_items = train.num_items();
  const auto d = static_cast<size_t>(options_.factors);
  weights_.resize(network_->num_weights());
  network_->initialise(rng, weights_.data());
  item_table_.resize(size_t{n_items} * d);
  const float item_scale = 1.f / std::sqrt(static_cast<float>(d));
  for (float& v : item_table_) v = static_cast<float>(rng.normal()) * item_scale;
  // Feature tokens: the model's own numbering, in order of first use.
  feature_offsets_.assign(1, 0);
  feature_tokens_.clear();
  token_table_.clear();
  vocabulary_ = IdMap();
  const FeatureTable& features = train.catalog().item_features;
  if (options_.features && !features.empty()) {
    std::vector<uint32_t> model_token(features.vocabulary().size(), UINT32_MAX);
    for (uint32_t i = 0; i < n_items; ++i) {
      if (i < features.num_entities()) {
        for (uint32_t t : features.tokens(i)) {
          if (model_token[t] == UINT32_MAX) model_token[t] = vocabulary_.intern(features.vocabulary().id_of(t));
          feature_tokens_.push_back(model_token[t]);
        }
      }
      feature_offsets_.push_back(feature_tokens_.size());
    }
    if (vocabulary_.size() == 0) feature_offsets_.assign(1, 0);
    token_table_.resize(size_t{vocabulary_.size()} * d);
    for (float& v : token_table_) v = static_cast<float>(rng.normal()) * item_scale;
  }
}

void SasrecModel::add_token_mean(uint32_t item, float sign, float* row) const {
  const uint64_t b = feature_offsets_[item], e = feature_offsets_[item + 1];
  if (b == e) return;
  const auto d = static_cast<size_t>(options_.factors);
  const float share = sign / static_cast<float>(e - b);
  for (uint64_t k = b; k < e; ++k) {
    const float* t = token_table_.data() + size_t{feature_tokens_[k]} * d;
    for (size_t c = 0; c < d; ++c) row[c] += share * t[c];
  }
}

Status SasrecModel::fit(const Dataset& train) { return train_from(train, false); }

Status SasrecModel::fit_warm(const Dataset& train) { return train_from(train, true); }

Status SasrecModel::train_from(const Dataset& train, bool warm_start) {
  // A warm start keeps the weights (and, with features, the ID embeddings it kept after the
  // last fit): the same catalogue, more events. Anything else starts from scratch.
  const bool warm = warm_start && !weights_.empty() && train.num_users() == num_users() &&
                    train.num_items() == num_items() && (vocabulary_.size() == 0 || !id_table_.empty());
  set_shape(train.num_users(), train.num_items());
  const uint32_t n_items = train.num_items();
  const auto d = static_cast<size_t>(options_.factors);
  const auto max_len = static_cast<size_t>(options_.max_length);
  const UserSequences sequences = user_sequences(train.interactions(), num_users());
  const std::vector<uint64_t>& offsets = sequences.offsets;
  const std::vector<uint32_t>& all = sequences.items;
  sequence_offsets_.assign(1, 0);
  sequence_items_.clear();
  for (uint32_t u = 0; u < num_users(); ++u) {
    const size_t len = offsets[u + 1] - offsets[u];
    const size_t from = offsets[u] + (len > max_len ? len - max_len : 0);
    sequence_items_.insert(sequence_items_.end(), all.begin() + static_cast<std::ptrdiff_t>(from),
                           all.begin() + static_cast<std::ptrdiff_t>(offsets[u + 1]));
    sequence_offsets_.push_back(sequence_items_.size());
  }

  Rng rng(static_cast<uint64_t>(options_.seed) + (warm ? 1 : 0));
  AlignedFloats id_table;  // with features: the ID embeddings Adam moves
  if (warm) {
    id_table = std::move(id_table_);
  } else {
    init_weights(train, rng);
    if (vocabulary_.size() > 0) id_table = item_table_;
  }
  id_table_.clear();
  const bool with_features = vocabulary_.size() > 0;
  // With features, Adam moves the ID embeddings and the token embeddings, and item_table_
  // is recomposed from them after every step.
  auto compose = [&] {
    for (uint32_t i = 0; i < n_items; ++i) {
      float* out = item_table_.data() + size_t{i} * d;
      std::copy_n(id_table.data() + size_t{i} * d, d, out);
      add_token_mean(i, 1.f, out);
    }
  };
  if (with_features) compose();
  const int64_t max_epochs = warm ? std::max<int64_t>(1, options_.epochs / 5) : options_.epochs;
  losses_.clear(), validation_ndcg_.clear();
  best_epoch_ = 0;

  // Validation users hold their last item out of training.
  std::vector<uint32_t> validation;
  for (uint32_t u = 0; u < num_users(); ++u)
    if (offsets[u + 1] - offsets[u] >= 3) validation.push_back(u);
  rng.shuffle(validation);
  validation.resize(std::min(validation.size(), static_cast<size_t>(options_.validation_users)));
  std::sort(validation.begin(), validation.end());
  std::vector<uint8_t> held(num_users(), 0);
  for (uint32_t u : validation) held[u] = 1;
  // Each user's training window: the last max_length + 1 items before the held-out one.
  struct Window {
    uint64_t begin, end;
  };
  std::vector<Window> windows;
  size_t positions = 0;
  for (uint32_t u = 0; u < num_users(); ++u) {
    const uint64_t end = offsets[u + 1] - held[u];
    const uint64_t begin = std::max<uint64_t>(offsets[u], end >= max_len + 1 ? end - (max_len + 1) : 0);
    if (end - begin >= 2) windows.push_back({begin, end}), positions += end - begin - 1;
  }

  const bool full = options_.loss == "full" || (options_.loss == "auto" && n_items <= kFullSoftmaxItems);
  loss_used_ = full ? "full" : "sampled";
  std::vector<float> log_q(n_items, 0.f);
  std::vector<double> cumulative(n_items, 0.0);
  if (!full) {
    std::vector<double> count(n_items, 1.0);
    for (uint32_t i : all) count[i] += 1;
    double total = 0;
    for (uint32_t i = 0; i < n_items; ++i) total += (cumulative[i] = std::pow(count[i], kNegativeExponent));
    for (uint32_t i = 0; i < n_items; ++i) log_q[i] = static_cast<float>(std::log(cumulative[i] / total));
    std::partial_sum(cumulative.begin(), cumulative.end(), cumulative.begin());
  }

  const int threads = resolve_threads(static_cast<int>(options_.threads));
  std::vector<ThreadGrad> grads(static_cast<size_t>(threads));
  for (ThreadGrad& g : grads) {
    g.weights.assign(weights_.size(), 0.f);
    g.items.assign(item_table_.size(), 0.f);
    g.touched.assign(n_items, 0);
  }
  nn::AdamOptions adam_options;
  adam_options.learning_rate = static_cast<float>(options_.learning_rate);
  nn::Adam dense_adam(weights_.size(), adam_options);
  nn::RowAdam item_adam(n_items, d, adam_options);
  nn::RowAdam token_adam(vocabulary_.size(), d, adam_options);
  AlignedFloats token_grad(token_table_.size(), 0.f);
  std::vector<uint8_t> token_touched(vocabulary_.size(), 0);
  std::vector<uint32_t> touched_tokens;
  AlignedFloats best_weights = weights_, best_items = item_table_, best_tokens = token_table_;
  double best_ndcg = -1;
  int64_t since_best = 0;

  auto validate = [&] {
    std::vector<double> gain(static_cast<size_t>(threads), 0.0);
    parallel_for(
        validation.size(), threads,
        [&](size_t begin, size_t end, int tid) {
          std::vector<float> scores(n_items);
          for (size_t k = begin; k < end; ++k) {
            const uint32_t u = validation[k];
            // The held-out item at `stop`, encoded from the max_length items before it.
            const uint64_t stop = offsets[u + 1] - 1, from = stop - std::min<uint64_t>(stop - offsets[u], max_len);
            const std::span<const uint32_t> prefix(all.data() + offsets[u], stop - offsets[u]);
            score_sequence(std::span<const uint32_t>(all.data() + from, stop - from), scores);
            for (uint32_t i : prefix) scores[i] = -INFINITY;
            const uint32_t target = all[stop];
            const float s = scores[target];
            size_t rank = 0;
            for (uint32_t i = 0; i < n_items && rank < kValidationCutoff; ++i)
              rank += scores[i] > s || (scores[i] == s && i < target);
            if (rank < kValidationCutoff) gain[static_cast<size_t>(tid)] += 1.0 / std::log2(rank + 2.0);
          }
        },
        16);
    return std::accumulate(gain.begin(), gain.end(), 0.0) / static_cast<double>(validation.size());
  };

  Progress progress("sasrec", static_cast<uint64_t>(max_epochs) * windows.size());
  std::vector<size_t> order(windows.size());
  std::iota(order.begin(), order.end(), size_t{0});
  const auto batch_size = static_cast<size_t>(options_.batch);
  const auto dropout = static_cast<float>(options_.dropout);
  std::vector<uint32_t> negatives(full ? 0 : static_cast<size_t>(options_.negatives));
  for (int64_t epoch = 1; epoch <= max_epochs && !windows.empty(); ++epoch) {
    rng.shuffle(order);
    double epoch_loss = 0;
    for (size_t start = 0; start < order.size(); start += batch_size) {
      const size_t stop = std::min(order.size(), start + batch_size);
      size_t batch_positions = 0;
      for (size_t k = start; k < stop; ++k) batch_positions += windows[order[k]].end - windows[order[k]].begin - 1;
      const float scale = 1.f / static_cast<float>(batch_positions);
      for (uint32_t& n : negatives) {
        const double x = rng.uniform() * cumulative.back();
        n = static_cast<uint32_t>(std::min<size_t>(
            n_items - 1,
            static_cast<size_t>(std::upper_bound(cumulative.begin(), cumulative.end(), x) - cumulative.begin())));
      }
      const size_t per_thread = (stop - start + static_cast<size_t>(threads) - 1) / static_cast<size_t>(threads);
      parallel_for(
          stop - start, threads,
          [&](size_t begin, size_t end, int) {
            // One buffer per chunk, not per thread, so the sums do not depend on which
            // thread took which chunk: a seeded fit is the same on every run.
            ThreadGrad& g = grads[begin / per_thread];
            std::vector<SasrecNetwork::Cache> caches(end - begin);
            std::vector<uint32_t> targets;
            std::vector<size_t> first_row;
            Matrix out, h, dh;
            size_t rows = 0;
            for (size_t k = begin; k < end; ++k)
              rows += windows[order[start + k]].end - windows[order[start + k]].begin - 1;
            h.resize(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(d));
            rows = 0;
            for (size_t k = begin; k < end; ++k) {
              const Window& w = windows[order[start + k]];
              const std::span<const uint32_t> input(all.data() + w.begin, w.end - w.begin - 1);
              Rng drop(mix(mix(static_cast<uint64_t>(options_.seed), static_cast<uint64_t>(epoch)), w.begin));
              network_->forward(weights_.data(), item_table_.data(), input, dropout, &drop, &caches[k - begin], &out);
              h.middleRows(static_cast<Eigen::Index>(rows), out.rows()) = out;
              first_row.push_back(rows);
              rows += input.size();
              for (size_t t = 0; t < input.size(); ++t) {
                g.touch(input[t]);
                targets.push_back(all[w.begin + t + 1]);
              }
            }
            if (full) {
              g.loss += nn::full_softmax_loss(h, item_table_.data(), n_items, targets, scale, &dh, g.items.data());
            } else {
              g.loss += nn::sampled_softmax_loss(h, item_table_.data(), targets, negatives, log_q, scale, &dh,
                                                 g.items.data());
              for (uint32_t i : targets) g.touch(i);
              for (uint32_t i : negatives) g.touch(i);
            }
            for (size_t k = begin; k < end; ++k) {
              const Window& w = windows[order[start + k]];
              const std::span<const uint32_t> input(all.data() + w.begin, w.end - w.begin - 1);
              const Matrix dout = dh.middleRows(static_cast<Eigen::Index>(first_row[k - begin]),
                                                static_cast<Eigen::Index>(input.size()));
              network_->backward(weights_.data(), input, caches[k - begin], dout, g.weights.data(), g.items.data());
            }
          },
          per_thread);
      // Sum the threads' gradients into the first, then one Adam step.
      ThreadGrad& sum = grads[0];
      for (size_t t = 1; t < grads.size(); ++t) {
        ThreadGrad& g = grads[t];
        for (size_t k = 0; k < sum.weights.size(); ++k) sum.weights[k] += std::exchange(g.weights[k], 0.f);
        for (uint32_t r : g.touched_rows) {
          sum.touch(r);
          float* from = g.items.data() + size_t{r} * d;
          float* to = sum.items.data() + size_t{r} * d;
          for (size_t c = 0; c < d; ++c) to[c] += std::exchange(from[c], 0.f);
          g.touched[r] = 0;
        }
        g.touched_rows.clear();
        sum.loss += std::exchange(g.loss, 0.0);
      }
      dense_adam.step(weights_.data(), sum.weights.data(), weights_.size());
      std::fill(sum.weights.begin(), sum.weights.end(), 0.f);
      auto step_row = [&](uint32_t r) {
        float* g = sum.items.data() + size_t{r} * d;
        if (with_features) {
          // d sum / d token = d sum / (item count of tokens): each token gets its share.
          const uint64_t b = feature_offsets_[r], e = feature_offsets_[r + 1];
          for (uint64_t k = b; k < e; ++k) {
            const uint32_t t = feature_tokens_[k];
            if (!token_touched[t]) token_touched[t] = 1, touched_tokens.push_back(t);
            float* tg = token_grad.data() + size_t{t} * d;
            for (size_t c = 0; c < d; ++c) tg[c] += g[c] / static_cast<float>(e - b);
          }
          item_adam.step_row(r, id_table.data() + size_t{r} * d, g);
        } else {
          item_adam.step_row(r, item_table_.data() + size_t{r} * d, g);
        }
        std::fill(g, g + d, 0.f);
      };
      if (full) {
        for (uint32_t r = 0; r < n_items; ++r) step_row(r);
      } else {
        for (uint32_t r : sum.touched_rows) step_row(r);
      }
      if (with_features) {
        for (uint32_t t : touched_tokens) {
          float* tg = token_grad.data() + size_t{t} * d;
          token_adam.step_row(t, token_table_.data() + size_t{t} * d, tg);
          std::fill(tg, tg + d, 0.f);
          token_touched[t] = 0;
        }
        touched_tokens.clear();
        compose();
      }
      for (uint32_t r : sum.touched_rows) sum.touched[r] = 0;
      sum.touched_rows.clear();
      epoch_loss += std::exchange(sum.loss, 0.0);
      progress.advance(stop - start);
    }
    losses_.push_back(epoch_loss / static_cast<double>(positions));
    if (!epoch_finished(epoch - 1, losses_.back())) break;
    if (validation.empty()) continue;
    const double ndcg = validate();
    validation_ndcg_.push_back(ndcg);
    spdlog::info("sasrec epoch {}: loss {:.4f}, validation NDCG@10 {:.4f}", epoch, losses_.back(), ndcg);
    if (ndcg > best_ndcg) {
      best_ndcg = ndcg, best_epoch_ = epoch, since_best = 0;
      best_weights = weights_, best_items = item_table_, best_tokens = token_table_;
    } else if (++since_best >= options_.patience) {
      spdlog::info("sasrec: early stop after epoch {}, keeping epoch {}", epoch, best_epoch_);
      break;
    }
  }
  if (best_ndcg >= 0) {
    weights_ = std::move(best_weights), item_table_ = std::move(best_items), token_table_ = std::move(best_tokens);
  } else {
    best_epoch_ = static_cast<int64_t>(losses_.size());  // no validation: the last epoch is kept
  }
  // Kept for a warm start (release_training_state frees it), from the kept epoch's sums:
  // ID embedding = sum - token mean.
  if (with_features) {
    id_table_ = item_table_;
    for (uint32_t i = 0; i < n_items; ++i) add_token_mean(i, -1.f, id_table_.data() + size_t{i} * d);
  }
  return Status::ok();
}

void SasrecModel::encode(std::span<const uint32_t> sequence, std::span<float> h, std::vector<float>* attention) const {
  NUDGE_CHECK(h.size() == static_cast<size_t>(options_.factors), "sasrec: encoding span must have factors entries");
  if (sequence.size() > static_cast<size_t>(options_.max_length))
    sequence = sequence.subspan(sequence.size() - static_cast<size_t>(options_.max_length));
  if (sequence.empty()) {
    std::fill(h.begin(), h.end(), 0.f);
    if (attention) attention->clear();
    return;
  }
  for (uint32_t i : sequence) NUDGE_CHECK(i < num_items(), "sasrec: item index out of range");
  SasrecNetwork::Cache cache;
  Matrix out;
  network_->forward(weights_.data(), item_table_.data(), sequence, 0.f, nullptr, &cache, &out);
  Eigen::Map<Eigen::RowVectorXf>(h.data(), static_cast<Eigen::Index>(h.size())) = out.row(out.rows() - 1);
  if (attention) *attention = SasrecNetwork::last_attention(cache);
}

std::vector<float> SasrecModel::score_sequence(std::span<const uint32_t> sequence, std::span<float> scores) const {
  std::vector<float> h(static_cast<size_t>(options_.factors));
  encode(sequence, h);
  const auto d = static_cast<Eigen::Index>(options_.factors);
  Eigen::Map<Eigen::VectorXf>(scores.data(), num_items()).noalias() =
      Eigen::Map<const Matrix>(item_table_.data(), num_items(), d) * Eigen::Map<const Eigen::VectorXf>(h.data(), d);
  return h;
}

void SasrecModel::score_user(uint32_t user, std::span<float> scores) const {
  check_user_call(user, scores);
  score_sequence(user_sequence(user), scores);
}

void SasrecModel::score_users(std::span<const uint32_t> users, std::span<float> scores) const {
  check_users_call(users, scores);
  const auto d = static_cast<size_t>(options_.factors);
  std::vector<float> block(users.size() * d);
  for (size_t r = 0; r < users.size(); ++r) encode(user_sequence(users[r]), std::span<float>(block).subspan(r * d, d));
  score_by_product(block.data(), users.size(), item_table_.data(), num_items(), d, nullptr, scores.data());
}

void SasrecModel::score_history(std::span<const uint32_t> items, std::span<const float> weights,
                                std::span<float> scores) const {
  check_history_call(items, weights, scores);
  score_sequence(items, scores);
}

std::vector<uint32_t> SasrecModel::sequence_of(const UserHistory& user) const {
  if (user.recent.empty()) return {user.items.begin(), user.items.end()};
  const size_t n = std::min(user.recent.size(), static_cast<size_t>(options_.max_length));
  return {std::make_reverse_iterator(user.recent.begin() + static_cast<std::ptrdiff_t>(n)),
          std::make_reverse_iterator(user.recent.begin())};
}

bool SasrecModel::score_history_with(const UserHistory& user, std::span<const FeatureDescription> described,
                                     std::span<float> scores, std::span<float> described_scores) const {
  check_history_call(user.items, user.weights, scores);
  NUDGE_CHECK(described.size() == described_scores.size(), "sasrec: one score per described item");
  for (uint32_t i : user.recent) NUDGE_CHECK(i < num_items(), "sasrec: recent item out of range");
  const auto d = static_cast<size_t>(options_.factors);
  const std::vector<float> h = score_sequence(sequence_of(user), scores);
  const Eigen::Map<const Eigen::VectorXf> hv(h.data(), static_cast<Eigen::Index>(d));
  // A described item is the mean of its known tokens' embeddings (no ID part: it has none).
  for (size_t k = 0; k < described.size(); ++k) {
    Eigen::VectorXf v = Eigen::VectorXf::Zero(static_cast<Eigen::Index>(d));
    int known = 0;
    for (const auto& [field, value] : described[k].values) {
      if (const auto t = vocabulary_.find(field + "=" + value)) {
        v += Eigen::Map<const Eigen::VectorXf>(token_table_.data() + size_t{*t} * d, static_cast<Eigen::Index>(d));
        ++known;
      }
    }
    described_scores[k] = known ? v.dot(hv) / static_cast<float>(known) : 0.f;
  }
  return has_feature_view();
}

bool SasrecModel::has_rows(const UserHistory& user) const {
  const auto in_range = [&](uint32_t i) { return i < num_items(); };
  return std::all_of(user.recent.begin(), user.recent.end(), in_range) &&
         std::all_of(user.items.begin(), user.items.end(), in_range);
}

bool SasrecModel::history_vector(const UserHistory& history, std::span<float> user) const {
  if (user.size() != static_cast<size_t>(options_.factors) || !has_rows(history)) return false;
  encode(sequence_of(history), user);
  return true;
}

std::vector<ScoredItem> SasrecModel::history_drivers(const UserHistory& user) const {
  if (!has_rows(user)) return {};
  const std::vector<uint32_t> sequence = sequence_of(user);
  std::vector<float> h(static_cast<size_t>(options_.factors)), attention;
  encode(sequence, h, &attention);
  const size_t first = sequence.size() - attention.size();  // encode reads the last max_length
  std::vector<ScoredItem> drivers;
  for (size_t t = 0; t < attention.size(); ++t) {
    const uint32_t item = sequence[first + t];
    auto seen = std::find_if(drivers.begin(), drivers.end(), [&](const ScoredItem& s) { return s.item == item; });
    if (seen == drivers.end()) drivers.push_back({item, attention[t]});
    else seen->score += attention[t];
  }
  std::sort(drivers.begin(), drivers.end(), [](const ScoredItem& a, const ScoredItem& b) {
    return a.score != b.score ? a.score > b.score : a.item < b.item;
  });
  return drivers;
}

Status SasrecModel::similar_items(uint32_t item, size_t k, std::vector<ScoredItem>* out) const {
  if (item >= num_items()) return Status::invalid_argument("sasrec: no item " + std::to_string(item));
  cosine_neighbours(item_table_.data(), num_items(), static_cast<uint32_t>(options_.factors), item, k, out);
  return Status::ok();
}

void SasrecModel::save_state(ModelWriter& out) const {
  out.u32(num_users());
  out.u32(num_items());
  out.floats(weights_);
  out.floats(item_table_);
  out.u64s(sequence_offsets_);
  out.u32s(sequence_items_);
  out.u32(vocabulary_.size());
  for (uint32_t t = 0; t < vocabulary_.size(); ++t) out.str(vocabulary_.id_of(t));
  out.floats(token_table_);
  out.u64s(feature_offsets_);
  out.u32s(feature_tokens_);
}

Status SasrecModel::load_state(ModelReader& in) {
  uint32_t users = 0, items = 0;
  NUDGE_RETURN_IF_ERROR(in.u32(&users, "sasrec: users"));
  NUDGE_RETURN_IF_ERROR(in.u32(&items, "sasrec: items"));
  std::vector<float> weights, table;
  NUDGE_RETURN_IF_ERROR(in.floats(&weights, "sasrec: weights", network_->num_weights()));
  NUDGE_RETURN_IF_ERROR(
      in.floats(&table, "sasrec: item embeddings", size_t{items} * static_cast<size_t>(options_.factors)));
  weights_.assign(weights.begin(), weights.end());
  item_table_.assign(table.begin(), table.end());
  NUDGE_RETURN_IF_ERROR(in.u64s(&sequence_offsets_, "sasrec: sequence offsets", size_t{users} + 1));
  NUDGE_RETURN_IF_ERROR(in.u32s(&sequence_items_, "sasrec: sequence items"));
  for (size_t u = 0; u < users; ++u)
    if (sequence_offsets_[u] > sequence_offsets_[u + 1] ||
        sequence_offsets_[u + 1] - sequence_offsets_[u] > static_cast<uint64_t>(options_.max_length))
      return in.corrupt("sasrec: sequence offsets", "not increasing by at most max_length");
  if (sequence_offsets_.front() != 0 || sequence_offsets_.back() != sequence_items_.size())
    return in.corrupt("sasrec: sequence offsets", "do not cover the sequence items");
  for (uint32_t i : sequence_items_)
    if (i >= items) return in.corrupt("sasrec: sequence items", "an item index out of range");
  uint32_t tokens = 0;
  NUDGE_RETURN_IF_ERROR(in.u32(&tokens, "sasrec: feature tokens"));
  vocabulary_ = IdMap();
  for (uint32_t t = 0; t < tokens; ++t) {
    std::string name;
    NUDGE_RETURN_IF_ERROR(in.str(&name, "sasrec: feature token"));
    if (vocabulary_.intern(name) != t) return in.corrupt("sasrec: feature tokens", "a name repeats");
  }
  std::vector<float> token_rows;
  NUDGE_RETURN_IF_ERROR(
      in.floats(&token_rows, "sasrec: token embeddings", size_t{tokens} * static_cast<size_t>(options_.factors)));
  token_table_.assign(token_rows.begin(), token_rows.end());
  NUDGE_RETURN_IF_ERROR(in.u64s(&feature_offsets_, "sasrec: feature offsets", tokens ? size_t{items} + 1 : 1));
  NUDGE_RETURN_IF_ERROR(in.u32s(&feature_tokens_, "sasrec: item feature tokens"));
  for (size_t i = 0; i + 1 < feature_offsets_.size(); ++i)
    if (feature_offsets_[i] > feature_offsets_[i + 1]) return in.corrupt("sasrec: feature offsets", "not increasing");
  if (feature_offsets_.front() != 0 || feature_offsets_.back() != feature_tokens_.size())
    return in.corrupt("sasrec: feature offsets", "do not cover the item feature tokens");
  for (uint32_t t : feature_tokens_)
    if (t >= tokens) return in.corrupt("sasrec: item feature tokens", "a token index out of range");
  for (float v : token_table_)
    if (!std::isfinite(v)) return in.corrupt("sasrec: token embeddings", "not finite");
  for (float v : weights_)
    if (!std::isfinite(v)) return in.corrupt("sasrec: weights", "not finite");
  for (float v : item_table_)
    if (!std::isfinite(v)) return in.corrupt("sasrec: item embeddings", "not finite");
  set_shape(users, items);
  return Status::ok();
}

}  // namespace nudge
