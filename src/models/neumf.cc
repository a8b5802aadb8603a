#include "nudge/models/neumf.h"
#include "nudge/param_table.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <numeric>
#include <unordered_map>

#include "common/text.h"
#include "nudge/log.h"
#include "nudge/nn/adam.h"
#include "nudge/parallel.h"
#include "nudge/progress.h"

namespace nudge {

const ParamTable<NeuMfOptions>& NeuMfOptions::parameters() {
  using T = ParamTable<NeuMfOptions>;
  static const T kTable({
      T::integer("factors", &NeuMfOptions::factors, 1, 1024, "GMF width"),
      // Widths as "64-32-16" (commas already separate parameters on the command line).
      T::text("layers", &NeuMfOptions::layers, "widths like 64-32-16",
              "MLP: concatenated embedding width (even), then hidden widths"),
      T::integer("epochs", &NeuMfOptions::epochs, 0, 10000, "passes over the training pairs"),
      T::integer("negatives", &NeuMfOptions::negatives, 1, 1000, "negatives sampled per observed pair"),
      T::integer("batch_size", &NeuMfOptions::batch_size, 2, 1 << 20, "pairs per Adam step"),
      T::number("learning_rate", &NeuMfOptions::learning_rate, 0, 10, "Adam"),
      T::number("l2", &NeuMfOptions::l2, 0, 10, "L2 on the weights"),
      T::boolean("pretrain", &NeuMfOptions::pretrain, "neumf: start from trained GMF and MLP (He et al.)"),
      T::number("validation", &NeuMfOptions::validation, 0, 0.5,
                "held-out share for early stopping on HR@10 (0 = none)"),
      T::integer("patience", &NeuMfOptions::patience, 1, 1000, "epochs without improvement before stopping"),
      T::integer("threads", &NeuMfOptions::threads, 0, 1024, "0 = all cores; 1 for reproducible runs"),
      T::integer("seed", &NeuMfOptions::seed, 0, INT64_MAX, "random seed"),
  });
  return kTable;
}

Result<NeuMfOptions> NeuMfOptions::from_params(std::string_view owner, const Params& p) {
  NeuMfOptions o;
  o.mode = std::string(owner);
  NUDGE_RETURN_IF_ERROR(parameters().read(owner, p, &o));
  std::string text = o.layers;
  for (char& c : text) {
    if (c == '-' || c == ':') c = ',';
  }
  for (std::string_view part : split_view(text, ',')) {
    auto v = parse_int64(trim(part));
    if (!v || *v < 2 || *v > 4096) {
      return Status::invalid_argument(std::string(owner) + ": parameter 'layers' must be widths like 64-32-16, got '" +
                                      o.layers + "'");
    }
    o.layer_sizes.push_back(static_cast<int>(*v));
  }
  if (o.layer_sizes.size() < 2 || o.layer_sizes[0] % 2 != 0) {
    return Status::invalid_argument(std::string(owner) +
                                    ": parameter 'layers' needs an even input width and at least one hidden layer");
  }
  return o;
}

NeuMfModel::NeuMfModel(NeuMfOptions options, Params params)
    : options_(std::move(options)), params_(std::move(params)) {}

void NeuMfModel::init(uint32_t users, uint32_t items) {
  set_shape(users, items);
  Rng rng(static_cast<uint64_t>(options_.seed));
  const int m = options_.layer_sizes[0] / 2;
  net_.user_gmf = random_factors(users, options_.factors, 0.01, rng);
  net_.item_gmf = random_factors(items, options_.factors, 0.01, rng);
  net_.user_mlp = random_factors(users, m, 0.01, rng);
  net_.item_mlp = random_factors(items, m, 0.01, rng);
  net_.tower.clear();
  for (size_t l = 0; l + 1 < options_.layer_sizes.size(); ++l) {
    net_.tower.emplace_back(options_.layer_sizes[l], options_.layer_sizes[l + 1], rng);
  }
  const Eigen::Index width = options_.factors + options_.layer_sizes.back();
  net_.out_weight = nn::Vector(width);
  for (Eigen::Index k = 0; k < width; ++k) net_.out_weight[k] = static_cast<float>(0.1 * rng.normal());
  net_.out_bias = 0.f;
}

double NeuMfModel::batch_loss(const Net& net, const std::string& mode, std::span<const uint32_t> users,
                              std::span<const uint32_t> items, std::span<const float> labels, Grads* grads) {
  const auto b = static_cast<Eigen::Index>(users.size());
  const bool use_gmf = mode != "mlp", use_mlp = mode != "gmf";
  const Eigen::Index g = net.user_gmf.cols(), m = net.user_mlp.cols();
  const size_t layers = net.tower.size();
  const Eigen::Index last = net.tower.back().weight.rows();
  nn::Matrix gmf = nn::Matrix::Zero(b, g);
  std::vector<nn::Matrix> act(layers + 1);
  if (use_gmf) {
    for (Eigen::Index k = 0; k < b; ++k)
      gmf.row(k) = net.user_gmf.row(users[k]).cwiseProduct(net.item_gmf.row(items[k]));
  }
  if (use_mlp) {
    act[0].resize(b, 2 * m);
    for (Eigen::Index k = 0; k < b; ++k) {
      act[0].row(k).head(m) = net.user_mlp.row(users[k]);
      act[0].row(k).tail(m) = net.item_mlp.row(items[k]);
    }
    for (size_t l = 0; l < layers; ++l) {
      net.tower[l].forward(act[l], &act[l + 1]);
      nn::relu(&act[l + 1]);
    }
  } else {
    act[layers] = nn::Matrix::Zero(b, last);
  }
  nn::Vector logits = gmf * net.out_weight.head(g) + act[layers] * net.out_weight.tail(last);
  logits.array() += net.out_bias;
  nn::Vector label_vec(b), dlogits;
  for (Eigen::Index k = 0; k < b; ++k) label_vec[k] = labels[k];
  const double loss = nn::bce_with_logits(logits, label_vec, &dlogits);
  if (!grads) return loss;

  grads->out_weight = nn::Vector::Zero(g + last);
  if (use_gmf) grads->out_weight.head(g) = gmf.transpose() * dlogits;
  if (use_mlp) grads->out_weight.tail(last) = act[layers].transpose() * dlogits;
  grads->out_bias = dlogits.sum();
  grads->tower.resize(layers);
  for (size_t l = 0; l < layers; ++l) grads->tower[l].zero(net.tower[l].weight.rows(), net.tower[l].weight.cols());
  // Embedding gradients summed per distinct row.
  auto add_row = [](std::vector<std::pair<uint32_t, nn::Vector>>& out, std::unordered_map<uint32_t, size_t>& index,
                    uint32_t row, const auto& grad) {
    auto [it, inserted] = index.try_emplace(row, out.size());
    if (inserted) out.emplace_back(row, grad.transpose());
    else out[it->second].second += grad.transpose();
  };
  std::unordered_map<uint32_t, size_t> iu_g, ii_g, iu_m, ii_m;
  grads->user_gmf.clear();
  grads->item_gmf.clear();
  grads->user_mlp.clear();
  grads->item_mlp.clear();
  if (use_gmf) {
    const nn::Vector hg = net.out_weight.head(g);
    for (Eigen::Index k = 0; k < b; ++k) {
      const nn::Vector dphi = dlogits[k] * hg;
      add_row(grads->user_gmf, iu_g, users[k], dphi.cwiseProduct(net.item_gmf.row(items[k]).transpose()));
      add_row(grads->item_gmf, ii_g, items[k], dphi.cwiseProduct(net.user_gmf.row(users[k]).transpose()));
    }
  }
  if (use_mlp) {
    nn::Matrix da = dlogits * net.out_weight.tail(last).transpose();
    nn::Matrix dprev;
    for (size_t l = layers; l-- > 0;) {
      nn::relu_backward(act[l + 1], &da);
      net.tower[l].backward(act[l], da, &grads->tower[l], &dprev);
      da.swap(dprev);
    }
    for (Eigen::Index k = 0; k < b; ++k) {
      add_row(grads->user_mlp, iu_m, users[k], da.row(k).head(m).transpose());
      add_row(grads->item_mlp, ii_m, items[k], da.row(k).tail(m).transpose());
    }
  }
  return loss;
}

namespace {

// Adam state for every parameter of a Net.
struct Optimizer {
  nn::RowAdam user_gmf, item_gmf, user_mlp, item_mlp;
  std::vector<nn::Adam> weights, biases;
  nn::Adam out_weight, out_bias;
  std::mutex dense_mutex;  // dense parameters are updated one thread at a time

  Optimizer(const NeuMfModel::Net& net, nn::AdamOptions o)
      : user_gmf(net.user_gmf.rows(), net.user_gmf.cols(), o),
        item_gmf(net.item_gmf.rows(), net.item_gmf.cols(), o),
        user_mlp(net.user_mlp.rows(), net.user_mlp.cols(), o),
        item_mlp(net.item_mlp.rows(), net.item_mlp.cols(), o),
        out_weight(net.out_weight.size(), o),
        out_bias(1, o) {
    for (const auto& d : net.tower) {
      weights.emplace_back(d.weight.size(), o);
      biases.emplace_back(d.bias.size(), o);
    }
  }

  void apply(NeuMfModel::Net& net, const NeuMfModel::Grads& g) {
    auto rows = [](nn::RowAdam& adam, FactorMatrix& table, const auto& list) {
      for (const auto& [row, grad] : list) adam.step_row(row, table.row(row).data(), grad.data());
    };
    rows(user_gmf, net.user_gmf, g.user_gmf);
    rows(item_gmf, net.item_gmf, g.item_gmf);
    rows(user_mlp, net.user_mlp, g.user_mlp);
    rows(item_mlp, net.item_mlp, g.item_mlp);
    std::lock_guard<std::mutex> lock(dense_mutex);
    for (size_t l = 0; l < net.tower.size(); ++l) {
      weights[l].step(net.tower[l].weight.data(), g.tower[l].weight.data(),
                      static_cast<size_t>(g.tower[l].weight.size()));
      biases[l].step(net.tower[l].bias.data(), g.tower[l].bias.data(), static_cast<size_t>(g.tower[l].bias.size()));
    }
    out_weight.step(net.out_weight.data(), g.out_weight.data(), static_cast<size_t>(g.out_weight.size()));
    out_bias.step(&net.out_bias, &g.out_bias, 1);
  }
};

uint32_t sample_negative(Rng& rng, uint32_t n_items, std::span<const uint32_t> seen) {
  for (;;) {
    const uint32_t j = rng.uniform_index(n_items);
    if (!std::binary_search(seen.begin(), seen.end(), j)) return j;
  }
}

}  // namespace

Status NeuMfModel::train_epochs(const CsrMatrix& pairs, const CsrMatrix& seen, const CsrMatrix* validation,
                                int64_t epochs) {
  const uint64_t nnz = pairs.nnz();
  if (nnz == 0) return Status::ok();
  std::vector<uint32_t> row_of(nnz);
  for (uint32_t u = 0; u < pairs.num_rows; ++u) {
    std::fill(row_of.begin() + pairs.indptr[u], row_of.begin() + pairs.indptr[u + 1], u);
  }
  nn::AdamOptions ao;
  ao.learning_rate = static_cast<float>(options_.learning_rate);
  ao.weight_decay = static_cast<float>(options_.l2);
  Optimizer opt(net_, ao);
  Rng rng(static_cast<uint64_t>(options_.seed) ^ 0x5eedULL);
  const int threads = resolve_threads(static_cast<int>(options_.threads));
  const size_t per_batch = std::max<size_t>(1, static_cast<size_t>(options_.batch_size) / (1 + options_.negatives));
  std::vector<uint64_t> order(nnz);
  std::iota(order.begin(), order.end(), uint64_t{0});
  double best_hr = -1;
  int64_t since_best = 0;
  Net best = net_;
  Progress progress(std::string(name()) + " epochs", static_cast<uint64_t>(epochs));
  for (int64_t epoch = 0; epoch < epochs; ++epoch, progress.advance()) {
    for (size_t k = order.size(); k > 1; --k) std::swap(order[k - 1], order[rng.next_u64() % k]);
    std::vector<double> loss_sum(threads, 0.0);
    std::vector<uint64_t> batches(threads, 0);
    std::vector<Rng> rngs;
    for (int t = 0; t < threads; ++t) rngs.push_back(rng.fork(static_cast<uint64_t>(t)));
    parallel_for(
        static_cast<size_t>(threads), threads,
        [&](size_t tb, size_t te, int) {
          for (size_t t = tb; t < te; ++t) {
            Grads grads;
            std::vector<uint32_t> users, items;
            std::vector<float> labels;
            const size_t lo = nnz * t / threads, hi = nnz * (t + 1) / threads;
            for (size_t start = lo; start < hi; start += per_batch) {
              users.clear();
              items.clear();
              labels.clear();
              for (size_t k = start; k < std::min(hi, start + per_batch); ++k) {
                const uint64_t e = order[k];
                const uint32_t u = row_of[e];
                users.push_back(u);
                items.push_back(pairs.indices[e]);
                labels.push_back(1.f);
                for (int64_t n = 0; n < options_.negatives; ++n) {
                  users.push_back(u);
                  items.push_back(sample_negative(rngs[t], num_items(), seen.row_indices(u)));
                  labels.push_back(0.f);
                }
              }
              loss_sum[t] += batch_loss(net_, options_.mode, users, items, labels, &grads);
              ++batches[t];
              opt.apply(net_, grads);
            }
          }
        },
        1);
    const double loss =
        std::accumulate(loss_sum.begin(), loss_sum.end(), 0.0) /
        static_cast<double>(std::max<uint64_t>(1, std::accumulate(batches.begin(), batches.end(), uint64_t{0})));
    losses_.push_back(loss);
    if (!epoch_finished(epoch, loss)) break;
    if (!validation) {
      spdlog::debug("{} epoch {}: loss {:.4f}", name(), epoch + 1, loss);
      continue;
    }
    // HR@10 of held-out pairs against 100 sampled negatives each (at most 2000 pairs).
    build_cache();
    Rng vrng(static_cast<uint64_t>(options_.seed) + 17);
    uint64_t hits = 0, total = 0;
    std::vector<uint32_t> cand;
    std::vector<float> scores;
    for (uint32_t u = 0; u < validation->num_rows && total < 2000; ++u) {
      for (uint32_t i : validation->row_indices(u)) {
        cand.assign(1, i);
        for (int n = 0; n < 100; ++n) cand.push_back(sample_negative(vrng, num_items(), seen.row_indices(u)));
        scores.resize(cand.size());
        score_user_items(u, cand, scores);
        size_t rank = 0;
        for (size_t c = 1; c < cand.size(); ++c) rank += scores[c] >= scores[0];
        hits += rank < 10;
        ++total;
      }
    }
    const double hr = total ? static_cast<double>(hits) / static_cast<double>(total) : 0.0;
    spdlog::info("{} epoch {}: loss {:.4f}, validation HR@10 {:.4f}", name(), epoch + 1, loss, hr);
    if (hr > best_hr) {
      best_hr = hr;
      best = net_;
      since_best = 0;
    } else if (++since_best >= options_.patience) {
      spdlog::info("{}: early stop after epoch {}, keeping the best epoch", name(), epoch + 1);
      break;
    }
  }
  if (validation) net_ = std::move(best);
  return Status::ok();
}

Status NeuMfModel::fit(const Dataset& train) {
  init(train.num_users(), train.num_items());
  losses_.clear();
  const CsrMatrix& seen = train.user_items();
  if (options_.mode == "neumf" && options_.pretrain) {
    // He et al.: initialise NeuMF from a trained GMF and MLP, output weights halved.
    for (const char* part : {"gmf", "mlp"}) {
      NeuMfOptions o = options_;
      o.mode = part;
      o.pretrain = false;
      NeuMfModel sub(o, params_);
      NUDGE_RETURN_IF_ERROR(sub.fit(train));
      const Eigen::Index g = options_.factors, last = options_.layer_sizes.back();
      if (o.mode == "gmf") {
        net_.user_gmf = sub.net_.user_gmf;
        net_.item_gmf = sub.net_.item_gmf;
        net_.out_weight.head(g) = 0.5f * sub.net_.out_weight.head(g);
      } else {
        net_.user_mlp = sub.net_.user_mlp;
        net_.item_mlp = sub.net_.item_mlp;
        net_.tower = sub.net_.tower;
        net_.out_weight.tail(last) = 0.5f * sub.net_.out_weight.tail(last);
      }
      net_.out_bias += 0.5f * sub.net_.out_bias;
    }
  }
  if (options_.validation > 0) {
    // Hold out a random share of the pairs; negatives still avoid every known pair.
    Rng rng(static_cast<uint64_t>(options_.seed) + 3);
    std::vector<uint32_t> fit_r, fit_c, val_r, val_c;
    for (uint32_t u = 0; u < seen.num_rows; ++u) {
      for (uint32_t i : seen.row_indices(u)) {
        const bool hold = rng.uniform() < options_.validation && seen.row_nnz(u) > 1;
        (hold ? val_r : fit_r).push_back(u);
        (hold ? val_c : fit_c).push_back(i);
      }
    }
    const CsrMatrix fit_pairs =
        CsrMatrix::from_coo(seen.num_rows, seen.num_cols, fit_r, fit_c, std::vector<float>(fit_r.size(), 1.f));
    const CsrMatrix val_pairs =
        CsrMatrix::from_coo(seen.num_rows, seen.num_cols, val_r, val_c, std::vector<float>(val_r.size(), 1.f));
    NUDGE_RETURN_IF_ERROR(train_epochs(fit_pairs, seen, &val_pairs, options_.epochs));
  } else {
    NUDGE_RETURN_IF_ERROR(train_epochs(seen, seen, nullptr, options_.epochs));
  }
  build_cache();
  return Status::ok();
}

void NeuMfModel::build_cache() {
  const Eigen::Index m = net_.user_mlp.cols();
  item_first_layer_.noalias() = net_.item_mlp * net_.tower[0].weight.rightCols(m).transpose();
}

void NeuMfModel::score_with(const float* p_gmf, const float* p_mlp, std::span<const uint32_t> items,
                            std::span<float> out) const {
  const bool use_gmf = options_.mode != "mlp", use_mlp = options_.mode != "gmf";
  const Eigen::Index g = net_.user_gmf.cols(), m = net_.user_mlp.cols();
  const Eigen::Index last = net_.tower.back().weight.rows();
  const auto n = static_cast<Eigen::Index>(items.empty() ? num_items() : items.size());
  auto item_at = [&](Eigen::Index k) { return items.empty() ? static_cast<uint32_t>(k) : items[k]; };
  const Eigen::Map<const nn::Vector> pg(p_gmf, g), pm(p_mlp, m);
  const nn::Vector hg = net_.out_weight.head(g).cwiseProduct(pg);
  nn::Vector user_first;
  if (use_mlp) user_first = net_.tower[0].weight.leftCols(m) * pm + net_.tower[0].bias;
  constexpr Eigen::Index kChunk = 1024;
  nn::Matrix a, next;
  for (Eigen::Index start = 0; start < n; start += kChunk) {
    const Eigen::Index len = std::min(kChunk, n - start);
    nn::Vector logit = nn::Vector::Constant(len, net_.out_bias);
    if (use_gmf) {
      for (Eigen::Index k = 0; k < len; ++k) logit[k] += net_.item_gmf.row(item_at(start + k)).dot(hg);
    }
    if (use_mlp) {
      a.resize(len, user_first.size());
      for (Eigen::Index k = 0; k < len; ++k)
        a.row(k) = item_first_layer_.row(item_at(start + k)) + user_first.transpose();
      nn::relu(&a);
      for (size_t l = 1; l < net_.tower.size(); ++l) {
        net_.tower[l].forward(a, &next);
        nn::relu(&next);
        a.swap(next);
      }
      logit += a * net_.out_weight.tail(last);
    }
    for (Eigen::Index k = 0; k < len; ++k) out[static_cast<size_t>(start + k)] = logit[k];
  }
}

void NeuMfModel::score_user(uint32_t user, std::span<float> scores) const {
  check_user_call(user, scores);
  score_with(net_.user_gmf.row(user).data(), net_.user_mlp.row(user).data(), {}, scores);
}

void NeuMfModel::score_user_items(uint32_t user, std::span<const uint32_t> items, std::span<float> out) const {
  NUDGE_CHECK(user < num_users() && items.size() == out.size(), "neumf: bad score_user_items call");
  for (uint32_t i : items) NUDGE_CHECK(i < num_items(), "neumf: item index out of range");
  if (items.empty()) return;
  score_with(net_.user_gmf.row(user).data(), net_.user_mlp.row(user).data(), items, out);
}

void NeuMfModel::score_history(std::span<const uint32_t> items, std::span<const float> weights,
                               std::span<float> scores) const {
  check_history_call(items, weights, scores);
  // A one-user network sharing the item side: only the user rows are trained.
  Net one;
  Rng rng(static_cast<uint64_t>(options_.seed) + 99);
  one.user_gmf = random_factors(1, net_.user_gmf.cols(), 0.01, rng);
  one.user_mlp = random_factors(1, net_.user_mlp.cols(), 0.01, rng);
  if (!items.empty()) {
    one.item_gmf = net_.item_gmf;
    one.item_mlp = net_.item_mlp;
    one.tower = net_.tower;
    one.out_weight = net_.out_weight;
    one.out_bias = net_.out_bias;
    std::vector<uint32_t> seen(items.begin(), items.end());
    std::sort(seen.begin(), seen.end());
    nn::AdamOptions ao;
    ao.learning_rate = 0.05f;
    nn::RowAdam adam_g(1, one.user_gmf.cols(), ao), adam_m(1, one.user_mlp.cols(), ao);
    Grads grads;
    std::vector<uint32_t> users, its;
    std::vector<float> labels;
    for (int step = 0; step < 100; ++step) {
      users.clear();
      its.clear();
      labels.clear();
      for (uint32_t i : items) {
        users.push_back(0);
        its.push_back(i);
        labels.push_back(1.f);
        for (int64_t n = 0; n < options_.negatives; ++n) {
          users.push_back(0);
          its.push_back(sample_negative(rng, num_items(), seen));
          labels.push_back(0.f);
        }
      }
      batch_loss(one, options_.mode, users, its, labels, &grads);
      for (const auto& [row, g] : grads.user_gmf) adam_g.step_row(row, one.user_gmf.row(row).data(), g.data());
      for (const auto& [row, g] : grads.user_mlp) adam_m.step_row(row, one.user_mlp.row(row).data(), g.data());
    }
  }
  score_with(one.user_gmf.row(0).data(), one.user_mlp.row(0).data(), {}, scores);
}

void NeuMfModel::save_state(ModelWriter& out) const {
  write_factors(out, net_.user_gmf);
  write_factors(out, net_.item_gmf);
  write_factors(out, net_.user_mlp);
  write_factors(out, net_.item_mlp);
  out.u32(static_cast<uint32_t>(net_.tower.size()));
  for (const auto& d : net_.tower) {
    write_factors(out, d.weight);
    out.floats(std::span<const float>(d.bias.data(), static_cast<size_t>(d.bias.size())));
  }
  out.floats(std::span<const float>(net_.out_weight.data(), static_cast<size_t>(net_.out_weight.size())));
  out.f32(net_.out_bias);
}

Status NeuMfModel::load_state(ModelReader& in) {
  const std::string n(name());
  NUDGE_RETURN_IF_ERROR(read_factors(in, &net_.user_gmf, n + ": user GMF embeddings"));
  NUDGE_RETURN_IF_ERROR(read_factors(in, &net_.item_gmf, n + ": item GMF embeddings"));
  NUDGE_RETURN_IF_ERROR(read_factors(in, &net_.user_mlp, n + ": user MLP embeddings"));
  NUDGE_RETURN_IF_ERROR(read_factors(in, &net_.item_mlp, n + ": item MLP embeddings"));
  uint32_t layers = 0;
  NUDGE_RETURN_IF_ERROR(in.u32(&layers, n + ": tower"));
  if (layers + 1 != options_.layer_sizes.size())
    return in.corrupt(n + ": tower", "layer count differs from the parameters");
  net_.tower.assign(layers, nn::Dense());
  Eigen::Index width = 2 * net_.user_mlp.cols();
  for (auto& d : net_.tower) {
    NUDGE_RETURN_IF_ERROR(read_factors(in, &d.weight, n + ": tower weights"));
    std::vector<float> bias;
    NUDGE_RETURN_IF_ERROR(in.floats(&bias, n + ": tower biases", static_cast<size_t>(d.weight.rows())));
    if (d.weight.cols() != width) return in.corrupt(n + ": tower weights", "layer widths do not chain");
    d.bias = Eigen::Map<nn::Vector>(bias.data(), static_cast<Eigen::Index>(bias.size()));
    width = d.weight.rows();
  }
  std::vector<float> ow;
  NUDGE_RETURN_IF_ERROR(in.floats(&ow, n + ": output weights", static_cast<size_t>(net_.user_gmf.cols() + width)));
  net_.out_weight = Eigen::Map<nn::Vector>(ow.data(), static_cast<Eigen::Index>(ow.size()));
  NUDGE_RETURN_IF_ERROR(in.f32(&net_.out_bias, n + ": output bias"));
  if (net_.user_gmf.rows() != net_.user_mlp.rows() || net_.item_gmf.rows() != net_.item_mlp.rows() ||
      net_.user_gmf.cols() != net_.item_gmf.cols() || net_.user_mlp.cols() != net_.item_mlp.cols()) {
    return in.corrupt(n + ": embeddings", "shapes do not agree");
  }
  set_shape(static_cast<uint32_t>(net_.user_gmf.rows()), static_cast<uint32_t>(net_.item_gmf.rows()));
  build_cache();
  return Status::ok();
}

}  // namespace nudge
