// The ONNX graphs of each model kind. Every graph computes what the model's own scorer
// computes, in the same order of operations where it matters for rounding; the ONNX Runtime
// test (tests/export/onnx_export_test.cc) holds them to 1e-4 of the C++ scores.
#include <onnx/checker.h>

#include <limits>

#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "export/graph_builder.h"
#include "models/sasrec_network.h"
#include "nudge/fusion.h"
#include "nudge/models/bpr.h"
#include "nudge/models/ials.h"
#include "nudge/models/neumf.h"
#include "nudge/models/sasrec.h"
#include "nudge/models/svd.h"
#include "nudge/models/two_tower.h"
#include "nudge/onnx_export.h"

namespace nudge {

namespace {

using onnx::TensorProto;
using onnx_export::GraphBuilder;

std::span<const float> row_major(const FactorMatrix& m) { return {m.data(), static_cast<size_t>(m.size())}; }

// [N, items] = users [N, f] . items' + bias.
std::string dot_items(GraphBuilder& g, const std::string& users, const FactorMatrix& items, std::span<const float> bias,
                      bool int8, const std::string& prefix) {
  // Stored transposed (f x items) for a plain MatMul: ONNX Runtime ran it in 30 ms per 1,000
  // users of the demo shape against 42 ms for Gemm with transB.
  const std::string y =
      g.matrix(prefix + "item_factors_t", items.data(), items.rows(), items.cols(), int8, /*transposed=*/true);
  std::string out = g.op("MatMul", {users, y}, prefix + "dot");
  if (!bias.empty())
    out = g.op("Add", {out, g.floats(prefix + "item_bias", bias, {static_cast<int64_t>(bias.size())})}, prefix + "dot");
  return out;
}

// Precomputed user vectors (one row per training user), gathered by `user`.
std::string user_rows(GraphBuilder& g, const FactorMatrix& users, const std::string& user, const std::string& prefix) {
  const std::string table = g.floats(prefix + "user_factors", row_major(users), {users.rows(), users.cols()});
  return g.gather_rows(table, user);
}

std::string neumf_scores(GraphBuilder& g, const NeuMfModel& m, const std::string& user, bool int8,
                         const std::string& prefix) {
  const NeuMfModel::Net& net = m.net();
  const bool use_gmf = m.name() != "mlp", use_mlp = m.name() != "gmf";
  const Eigen::Index gw = net.user_gmf.cols(), mw = net.user_mlp.cols();
  const Eigen::Index last = net.tower.back().weight.rows();
  std::string logit = g.scalar(prefix + "out_bias", net.out_bias);
  if (use_gmf) {
    const std::string pg =
        g.gather_rows(g.floats(prefix + "user_gmf", row_major(net.user_gmf), {net.user_gmf.rows(), gw}), user);
    const Eigen::VectorXf head = net.out_weight.head(gw);
    const std::string hg = g.op("Mul", {pg, g.floats(prefix + "out_weight_gmf", {head.data(), size_t(gw)}, {gw})});
    const std::string gmf = dot_items(g, hg, net.item_gmf, {}, int8, prefix + "gmf_");
    logit = g.op("Add", {gmf, logit}, prefix + "logit");
  }
  if (use_mlp) {
    const std::string pm =
        g.gather_rows(g.floats(prefix + "user_mlp", row_major(net.user_mlp), {net.user_mlp.rows(), mw}), user);
    const nn::Dense& first = net.tower[0];
    const FactorMatrix user_half = first.weight.leftCols(mw);  // h0 x m
    const std::string uf = g.op(
        "Gemm",
        {pm, g.floats(prefix + "mlp_user_weight", row_major(user_half), {user_half.rows(), user_half.cols()}),
         g.floats(prefix + "mlp_first_bias", {first.bias.data(), size_t(first.bias.size())}, {first.bias.size()})});
    g.attr("transB", int64_t{1});
    const nn::Matrix& items = m.item_first_layer();  // I x h0
    const std::string item_half =
        g.matrix(prefix + "mlp_item_first_layer", items.data(), items.rows(), items.cols(), int8);
    std::string a = g.op("Relu", {g.op("Add", {item_half, g.unsqueeze(uf, 1)})}, prefix + "mlp_hidden");  // N x I x h0
    for (size_t l = 1; l < net.tower.size(); ++l) {
      const FactorMatrix wt = net.tower[l].weight.transpose();  // in x out
      const std::string w = g.floats(prefix + "mlp_weight", row_major(wt), {wt.rows(), wt.cols()});
      const std::string b = g.floats(prefix + "mlp_bias", {net.tower[l].bias.data(), size_t(net.tower[l].bias.size())},
                                     {net.tower[l].bias.size()});
      a = g.op("Relu", {g.op("Add", {g.op("MatMul", {a, w}), b})}, prefix + "mlp_hidden");
    }
    const Eigen::VectorXf tail = net.out_weight.tail(last);
    const std::string mlp =
        g.op("MatMul", {a, g.floats(prefix + "out_weight_mlp", {tail.data(), size_t(last)}, {last})});
    logit = g.op("Add", {logit, mlp}, prefix + "logit");
  }
  return logit;
}

Result<std::string> user_scores(GraphBuilder& g, const Recommender& model, const std::string& user, bool int8,
                                const std::string& prefix);

// Per-user normalisation over the catalogue, as normalise_scores does (zscore, minmax).
std::string normalise(GraphBuilder& g, const std::string& s, const std::string& method, const std::string& prefix) {
  const std::string zero = g.scalar(prefix + "zero", 0.f);
  if (method == "minmax") {
    const std::string lo = g.op("ReduceMin", {s});
    g.attr("axes", std::vector<int64_t>{1});
    const std::string hi = g.op("ReduceMax", {s});
    g.attr("axes", std::vector<int64_t>{1});
    const std::string range = g.op("Sub", {hi, lo});
    const std::string scaled = g.op("Div", {g.op("Sub", {s, lo}), range});
    return g.op("Where", {g.op("Greater", {range, zero}), scaled, zero}, prefix + "normalised");
  }
  const std::string mean = g.reduce_mean(s, 1, true);
  const std::string d = g.op("Sub", {s, mean});
  const std::string sd = g.op("Sqrt", {g.reduce_mean(g.op("Mul", {d, d}), 1, true)});
  return g.op("Where", {g.op("Greater", {sd, zero}), g.op("Div", {d, sd}), zero}, prefix + "normalised");
}

Status check_fusion_normalisation(const FusionModel& f) {
  const std::string& method = f.options().normalise;
  if (method != "zscore" && method != "minmax")
    return Status::invalid_argument("onnx export: fusion with normalise=" + method +
                                    " has no ONNX form (a per-user sort); use zscore or minmax");
  return Status::ok();
}

// The fusion's combination of its normalised component scores z, given the history feature
// h [N, 1] (learned only).
std::string combine(GraphBuilder& g, const FusionModel& f, const std::vector<std::string>& z, const std::string& h) {
  const size_t m = z.size();
  const std::vector<float>& w = f.weights();
  if (f.options().method == "weighted") {
    float total = 0;
    for (float x : w) total += x;
    std::string out = g.scalar("fusion_zero", 0.f);
    for (size_t k = 0; k < m; ++k) {
      const float share = total > 0 ? w[k] / total : 1.f / static_cast<float>(m);
      out = g.op("Add", {out, g.op("Mul", {z[k], g.scalar("fusion_weight", share)})}, "fused");
    }
    return out;
  }
  // Learned: w . [z_k, z_k * h, p, h * p, 1] with p the item's popularity feature, in fuse()'s
  // order of operations: w_p p + (w_hp h) p + w_1 + sum_k (w_k + w_hk h) z_k.
  const std::vector<float>& pop = f.item_popularity();
  const std::string p = g.floats("fusion_item_popularity", pop, {static_cast<int64_t>(pop.size())});
  const std::string pop_term = g.op("Mul", {g.scalar("fusion_w_pop", w[2 * m]), p});
  const std::string hist_pop_term = g.op("Mul", {g.op("Mul", {g.scalar("fusion_w_hist_pop", w[2 * m + 1]), h}), p});
  std::string out =
      g.op("Add", {g.op("Add", {pop_term, hist_pop_term}), g.scalar("fusion_w_bias", w[2 * m + 2])}, "fused");
  for (size_t k = 0; k < m; ++k) {
    const std::string coef =
        g.op("Add", {g.scalar("fusion_w", w[k]), g.op("Mul", {g.scalar("fusion_w_hist", w[m + k]), h})});
    out = g.op("Add", {out, g.op("Mul", {coef, z[k]})}, "fused");
  }
  return out;
}

std::string component_prefix(const FusionModel& f, size_t k) { return f.options().models[k] + std::to_string(k) + "_"; }

Result<std::string> fusion_scores(GraphBuilder& g, const FusionModel& f, const std::string& user, bool int8) {
  NUDGE_RETURN_IF_ERROR(check_fusion_normalisation(f));
  std::vector<std::string> z;
  for (size_t k = 0; k < f.num_parts(); ++k) {
    NUDGE_ASSIGN_OR_RETURN(std::string s, user_scores(g, f.part(k), user, int8, component_prefix(f, k)));
    z.push_back(normalise(g, s, f.options().normalise, component_prefix(f, k)));
  }
  // A training user's history feature, as fit() stored it.
  const std::vector<float>& hist = f.user_history_features();
  const std::string h = g.unsqueeze(
      g.gather_rows(g.floats("fusion_user_history", hist, {static_cast<int64_t>(hist.size())}), user), 1);  // N x 1
  return combine(g, f, z, h);
}

// The scores [N, items] of training users `user` [N] for any exportable kind.
Result<std::string> user_scores(GraphBuilder& g, const Recommender& model, const std::string& user, bool int8,
                                const std::string& prefix) {
  if (const auto* m = dynamic_cast<const IalsModel*>(&model))
    return dot_items(g, user_rows(g, m->user_factors(), user, prefix), m->item_factors(), {}, int8, prefix);
  if (const auto* m = dynamic_cast<const BprModel*>(&model)) {
    return dot_items(g, user_rows(g, m->user_factors(), user, prefix), m->item_factors(),
                     {m->item_bias().data(), size_t(m->item_bias().size())}, int8, prefix);
  }
  if (const auto* m = dynamic_cast<const SvdModel*>(&model)) {
    FactorMatrix users(m->num_users(), m->item_factors().cols());
    std::vector<float> user_offset(m->num_users());  // mean + b_u
    for (uint32_t u = 0; u < m->num_users(); ++u) {
      users.row(u) = m->user_vector(u).transpose();
      user_offset[u] = m->global_mean() + m->user_bias()[u];
    }
    const std::string dot = dot_items(g, user_rows(g, users, user, prefix), m->item_factors(),
                                      {m->item_bias().data(), size_t(m->item_bias().size())}, int8, prefix);
    const std::string offset =
        g.gather_rows(g.floats(prefix + "user_offset", user_offset, {static_cast<int64_t>(user_offset.size())}), user);
    return g.op("Add", {dot, g.unsqueeze(offset, 1)}, prefix + "predicted");
  }
  if (const auto* m = dynamic_cast<const TwoTowerModel*>(&model)) {
    FactorMatrix users(m->num_users(), m->item_vectors().cols());
    for (uint32_t u = 0; u < m->num_users(); ++u) users.row(u) = m->training_user_vector(u).transpose();
    return dot_items(g, user_rows(g, users, user, prefix), m->item_vectors(), m->item_biases(), int8, prefix);
  }
  if (const auto* m = dynamic_cast<const NeuMfModel*>(&model)) return neumf_scores(g, *m, user, int8, prefix);
  if (const auto* m = dynamic_cast<const SasrecModel*>(&model)) {
    // Each training user's encoding, computed here: the graph gathers and scores it.
    const auto d = static_cast<Eigen::Index>(m->options().factors);
    FactorMatrix users(m->num_users(), d);
    for (uint32_t u = 0; u < m->num_users(); ++u)
      m->encode(m->user_sequence(u), std::span<float>(users.row(u).data(), static_cast<size_t>(d)));
    const FactorMatrix items = Eigen::Map<const FactorMatrix>(m->item_table().data(), m->num_items(), d);
    return dot_items(g, user_rows(g, users, user, prefix), items, {}, int8, prefix);
  }
  if (const auto* m = dynamic_cast<const FusionModel*>(&model)) {
    if (!prefix.empty()) return Status::invalid_argument("onnx export: a fusion inside a fusion");
    return fusion_scores(g, *m, user, int8);
  }
  return Status::invalid_argument("onnx export: " + std::string(model.name()) +
                                  " models have no ONNX form (exportable: ials, bpr, svd, svdpp, gmf, mlp, neumf, "
                                  "twotower, sasrec, fusion of those)");
}

// A padded index input [N, L] (-1 = no entry): its entries clamped to 0 and a float mask.
struct PaddedIndices {
  std::string index;    // int64 [N, L], padding replaced by 0
  std::string present;  // bool [N, L], true for entries
  std::string valid;    // float [N, L], 1 for entries, 0 for padding
};
PaddedIndices unpad(GraphBuilder& g, const std::string& input) {
  const int64_t zero[] = {0};
  const std::string z = g.int64s("index_zero", zero, {});
  const std::string index = g.op("Max", {input, z}, input + "_clamped");
  const std::string present = g.op("GreaterOrEqual", {input, z});
  const std::string valid = g.op("Cast", {present}, input + "_valid");
  g.attr("to", int64_t{TensorProto::FLOAT});
  return {index, present, valid};
}

// Sum over axis 1 of rows [N, L, f] weighted by w [N, L]: [N, f].
std::string weighted_row_sum(GraphBuilder& g, const std::string& w, const std::string& rows) {
  const std::string sum = g.op("MatMul", {g.unsqueeze(w, 1), rows});  // N x 1 x f
  const int64_t axis[] = {1};
  return g.op("Squeeze", {sum, g.int64s("axes", axis, {1})});
}

// x (float) solving A x = b for A [N, f, f] symmetric positive definite and b [N, f], both
// double: Gauss-Jordan elimination unrolled over the f pivots (ONNX has no solve). Without
// pivoting it is as stable as a Cholesky factorisation on such matrices.
std::string solve_spd(GraphBuilder& g, const std::string& a, const std::string& b, int64_t f) {
  std::string m = g.op("Concat", {a, g.unsqueeze(b, 2)}, "augmented");  // N x f x (f + 1)
  g.attr("axis", int64_t{2});
  const int64_t one_axis[] = {1}, two_axis[] = {2};
  const std::string rows = g.int64s("rows_axis", one_axis, {1}), cols = g.int64s("cols_axis", two_axis, {1});
  for (int64_t k = 0; k < f; ++k) {
    const int64_t from[] = {k}, to[] = {k + 1};
    const std::string start = g.int64s("pivot_start", from, {1}), end = g.int64s("pivot_end", to, {1});
    const std::string row = g.op("Slice", {m, start, end, rows}, "pivot_row");     // N x 1 x (f + 1)
    const std::string pivot = g.op("Slice", {row, start, end, cols}, "pivot");     // N x 1 x 1
    const std::string col = g.op("Slice", {m, start, end, cols}, "pivot_column");  // N x f x 1
    const std::string scaled = g.op("Div", {row, pivot}, "pivot_row_scaled");
    const std::string eliminated = g.op("Sub", {m, g.op("Mul", {col, scaled})}, "eliminated");
    std::vector<uint8_t> is_pivot(static_cast<size_t>(f), 0);
    is_pivot[static_cast<size_t>(k)] = 1;
    m = g.op("Where", {g.bools("is_pivot_row", is_pivot, {1, f, 1}), scaled, eliminated}, "augmented");
  }
  const int64_t from[] = {f}, to[] = {f + 1};
  const std::string x =
      g.op("Slice", {m, g.int64s("solution_start", from, {1}), g.int64s("solution_end", to, {1}), cols});
  const std::string solution = g.op("Cast", {g.op("Squeeze", {x, cols})}, "solution");  // N x f
  g.attr("to", int64_t{TensorProto::FLOAT});
  return solution;
}

// iALS fold-in: A = Y'Y + lambda_u I + sum_h alpha w_h y_h y_h',  b = sum_h (1 + alpha w_h) y_h,
// lambda_u = regularization (1 + n)^reg_exponent, scores = Y x with A x = b. A and b are
// summed and solved in double, as IalsModel::fold_in does (A can be ill-conditioned).
std::string ials_history_scores(GraphBuilder& g, const IalsModel& m, bool int8, const std::string& prefix) {
  const FactorMatrix& items = m.item_factors();
  const int64_t f = items.cols();
  auto to_double = [&g](const std::string& x) {
    const std::string out = g.op("Cast", {x}, x + "_f64");
    g.attr("to", int64_t{TensorProto::DOUBLE});
    return out;
  };
  const std::string y = g.matrix(prefix + "item_factors", items.data(), items.rows(), f, int8);
  const PaddedIndices h = unpad(g, "history_items");
  const std::string valid = to_double(h.valid);
  const std::string w = g.op("Mul", {to_double("history_weights"), valid}, "weight");
  const std::string alpha_w = g.op("Mul", {w, to_double(g.scalar("alpha", static_cast<float>(m.options().alpha)))});
  const std::string c = g.op("Mul", {g.op("Add", {alpha_w, to_double(g.scalar("one", 1.f))}), valid}, "confidence");
  const std::string yh_float = g.gather_rows(y, h.index);  // N x L x f
  const std::string yh = to_double(yh_float);
  const std::string b = weighted_row_sum(g, c, yh);  // N x f
  // Transposed before the cast: ONNX Runtime fuses a Transpose into the MatMul after it,
  // and its fused kernel has no double version.
  const std::string trans = g.op("Transpose", {yh_float});
  g.attr("perm", std::vector<int64_t>{0, 2, 1});
  const std::string weighted = g.op("Mul", {to_double(trans), g.unsqueeze(alpha_w, 1)});  // N x f x L
  const std::string history_gram = g.op("MatMul", {weighted, yh}, "history_gram");        // N x f x f
  const std::string n = g.reduce_sum(h.valid, 1, true);                                   // N x 1
  const std::string lambda =
      g.op("Mul", {g.op("Pow", {g.op("Add", {n, g.scalar("one", 1.f)}),
                                g.scalar("reg_exponent", static_cast<float>(m.options().reg_exponent))}),
                   g.scalar("regularization", static_cast<float>(m.options().regularization))});
  const Eigen::MatrixXf identity = Eigen::MatrixXf::Identity(f, f);
  const std::string ridge = g.op(
      "Mul", {g.unsqueeze(lambda, 2), g.floats("identity", {identity.data(), size_t(f * f)}, {f, f})});  // N x f x f
  const Eigen::MatrixXf& gram = m.item_gram();  // symmetric, so its storage order does not matter
  const std::string fixed = g.op("Add", {g.floats(prefix + "item_gram", {gram.data(), size_t(f * f)}, {f, f}), ridge});
  const std::string a = g.op("Add", {to_double(fixed), history_gram}, "system");
  const std::string x = solve_spd(g, a, b, f);
  const std::string out = g.op("Gemm", {x, y}, "dot");
  g.attr("transB", int64_t{1});
  return out;
}

// The two-tower user tower over token IDs: mean of the user's attribute token embeddings
// plus the sum of the tower items' input rows (item vectors for warp and bpr models) over
// their count^pooling; scores = u . v_i + b_i.
std::string two_tower_history_scores(GraphBuilder& g, const TwoTowerModel& m, bool int8, const std::string& prefix) {
  const FactorMatrix& e = m.token_embeddings();
  const FactorMatrix& v = m.item_vectors();
  const std::string embeddings = g.floats(prefix + "token_embeddings", row_major(e), {e.rows(), e.cols()});
  const std::string items = g.matrix(prefix + "item_vectors", v.data(), v.rows(), v.cols(), int8);
  // The tower reads items through rows of their own (softmax) or through their vectors.
  const FactorMatrix& h = m.history_vectors();
  const std::string read =
      m.input_base() ? g.floats(prefix + "item_inputs", row_major(h), {h.rows(), h.cols()}) : items;
  const std::string one = g.scalar("one", 1.f);
  // The rows' sum over max(count, 1)^exponent: the mean for exponent 1.
  auto pooled_rows = [&](const std::string& input, const std::string& table, float exponent) {
    const PaddedIndices p = unpad(g, input);
    const std::string sum = weighted_row_sum(g, p.valid, g.gather_rows(table, p.index));
    std::string count = g.op("Max", {g.reduce_sum(p.valid, 1, true), one});
    if (exponent != 1.f) count = g.op("Pow", {count, g.scalar(prefix + "pooling", exponent)});
    return g.op("Div", {sum, count}, input + "_pooled");
  };
  const std::string u = g.op("Add",
                             {pooled_rows("user_tokens", embeddings, 1.f),
                              pooled_rows("recent_items", read, static_cast<float>(m.options().pooling))},
                             "user_tower");
  const std::span<const float> bias = m.item_biases();
  const std::string out =
      g.op("Gemm", {u, items, g.floats(prefix + "item_bias", bias, {static_cast<int64_t>(bias.size())})}, "dot");
  g.attr("transB", int64_t{1});
  return out;
}

// The sasrec encoder over history_items [N, L] (oldest first, -1 padding anywhere): what
// SasrecModel::score_history computes. An entry's position is the number of entries after it
// (CumSum reversed), entries further back than max_length are dropped, attention is causal
// over entries only (an additive -1e9: exp underflows to exactly 0, and rows of padding stay
// finite), and the output row of the newest entry scores every item.
std::string sasrec_history_scores(GraphBuilder& g, const SasrecModel& m, bool int8, const std::string& prefix) {
  const SasrecNetwork& net = m.network();
  const auto d = static_cast<int64_t>(m.options().factors), heads = static_cast<int64_t>(m.options().heads);
  const auto max_length = static_cast<int64_t>(m.options().max_length);
  const float* w = m.weights().data();
  auto vec = [&](const std::string& hint, size_t at) { return g.floats(prefix + hint, {w + at, size_t(d)}, {d}); };
  // W (out x in) stored transposed for x W^T as a MatMul.
  auto weight = [&](const std::string& hint, size_t at) {
    return g.matrix(prefix + hint, w + at, d, d, /*int8=*/false, /*transposed=*/true);
  };
  auto linear = [&](const std::string& x, size_t wat, size_t bat, const std::string& hint) {
    return g.op("Add", {g.op("MatMul", {x, weight(hint + "_weight", wat)}), vec(hint + "_bias", bat)}, prefix + hint);
  };
  // Spelled out as nn::layer_norm_forward computes it (mean, then the mean square of the
  // centred values), so the rounding follows the C++ scorer's.
  const std::string epsilon = g.scalar("layer_norm_epsilon", 1e-5f);
  auto layer_norm = [&](const std::string& x, size_t gain, size_t bias, const std::string& hint) {
    const std::string centred = g.op("Sub", {x, g.reduce_mean(x, -1, true)}, prefix + hint + "_centred");
    const std::string variance = g.reduce_mean(g.op("Mul", {centred, centred}), -1, true);
    const std::string normalised = g.op("Div", {centred, g.op("Sqrt", {g.op("Add", {variance, epsilon})})});
    return g.op("Add", {g.op("Mul", {normalised, vec(hint + "_gain", gain)}), vec(hint + "_bias", bias)},
                prefix + hint);
  };
  const std::string table =
      g.matrix(prefix + "item_embeddings", m.item_table().data(), static_cast<int64_t>(m.num_items()), d, int8);
  const PaddedIndices h = unpad(g, "history_items");
  const int64_t axis1[] = {1};
  const std::string back_float = g.op("CumSum", {h.valid, g.int64s("cumsum_axis", axis1, {})}, "steps_back");
  g.attr("exclusive", int64_t{1});
  g.attr("reverse", int64_t{1});
  const std::string back = g.op("Cast", {back_float}, "steps_back_index");
  g.attr("to", int64_t{TensorProto::INT64});
  auto to_float = [&](const std::string& t, const std::string& hint) {
    const std::string out = g.op("Cast", {t}, hint);
    g.attr("to", int64_t{TensorProto::FLOAT});
    return out;
  };
  const std::string kept =
      g.op("Mul",
           {h.valid, to_float(g.op("Less", {back_float, g.scalar("max_length", float(max_length))}), "within_length")},
           "kept");
  const int64_t last_position[] = {max_length - 1};
  const std::string positions =
      g.floats(prefix + "positions", {w + net.positions(), size_t(max_length * d)}, {max_length, d});
  const std::string position_index = g.op("Min", {back, g.int64s("last_position", last_position, {})});
  std::string x = g.op("Add",
                       {g.op("Mul", {g.gather_rows(table, h.index), g.scalar("input_scale", std::sqrt(float(d)))}),
                        g.gather_rows(positions, position_index)},
                       prefix + "input");
  x = g.op("Mul", {x, g.unsqueeze(kept, 2)}, prefix + "input");
  // Additive attention bias [N, 1, L, L]: 0 where query i may read key j (j <= i, j kept).
  const std::string shape = g.op("Shape", {"history_items"});
  const int64_t one[] = {1}, two[] = {2};
  const std::string length =
      g.op("Slice", {shape, g.int64s("length_start", one, {1}), g.int64s("length_end", two, {1})});
  const std::string square = g.op("Concat", {length, length}, "square_shape");
  g.attr("axis", int64_t{0});
  const std::string ones = g.op("ConstantOfShape", {square}, "ones");
  {
    onnx::AttributeProto* value = g.last()->add_attribute();
    value->set_name("value");
    value->set_type(onnx::AttributeProto::TENSOR);
    onnx::TensorProto* t = value->mutable_t();
    t->set_data_type(TensorProto::FLOAT);
    t->add_dims(1);
    t->add_float_data(1.f);
  }
  const std::string causal = g.op("Trilu", {ones}, "causal");
  g.attr("upper", int64_t{0});
  const std::string allowed = g.op("Mul", {causal, g.unsqueeze(kept, 1)}, "allowed");  // N x L x L
  const std::string attention_bias = g.unsqueeze(
      g.op("Mul", {g.op("Sub", {allowed, g.scalar("one", 1.f)}), g.scalar("mask_scale", 1e9f)}, "attention_bias"), 1);
  const int64_t split_heads[] = {0, 0, heads, d / heads}, merge_heads[] = {0, 0, d};  // 0: keep that dimension
  const std::string split_shape = g.int64s("split_heads", split_heads, {4});
  const std::string merge_shape = g.int64s("merge_heads", merge_heads, {3});
  auto to_heads = [&](const std::string& t) {  // N x L x d -> N x heads x L x d/heads
    const std::string out = g.op("Transpose", {g.op("Reshape", {t, split_shape})});
    g.attr("perm", std::vector<int64_t>{0, 2, 1, 3});
    return out;
  };
  const int64_t head_width = d / heads;  // d is a multiple of heads
  const std::string head_scale = g.scalar("head_scale", 1.f / std::sqrt(static_cast<float>(head_width)));
  for (size_t b = 0; b < net.block_layouts().size(); ++b) {
    const SasrecNetwork::BlockLayout& l = net.block_layouts()[b];
    const std::string tag = "block" + std::to_string(b) + "_";
    const std::string a_in = layer_norm(x, l.norm1_gain, l.norm1_bias, tag + "norm1");
    const std::string q = to_heads(linear(a_in, l.wq, l.bq, tag + "query"));
    const std::string k_t = g.op("Transpose", {to_heads(linear(a_in, l.wk, l.bk, tag + "key"))});
    g.attr("perm", std::vector<int64_t>{0, 1, 3, 2});
    const std::string v = to_heads(linear(a_in, l.wv, l.bv, tag + "value"));
    const std::string logits =
        g.op("Add", {g.op("Mul", {g.op("MatMul", {q, k_t}), head_scale}), attention_bias}, prefix + tag + "logits");
    const std::string weights = g.op("Softmax", {logits}, prefix + tag + "attention");
    g.attr("axis", int64_t{-1});
    const std::string context_heads = g.op("Transpose", {g.op("MatMul", {weights, v})});
    g.attr("perm", std::vector<int64_t>{0, 2, 1, 3});
    const std::string context = g.op("Reshape", {context_heads, merge_shape}, prefix + tag + "context");
    const std::string residual =
        g.op("Add", {x, linear(context, l.wo, l.bo, tag + "output")}, prefix + tag + "residual");
    const std::string f_in = layer_norm(residual, l.norm2_gain, l.norm2_bias, tag + "norm2");
    const std::string hidden = g.op("Relu", {linear(f_in, l.w1, l.b1, tag + "feed1")});
    x = g.op("Add", {residual, linear(hidden, l.w2, l.b2, tag + "feed2")}, prefix + tag + "out");
  }
  const std::string y = layer_norm(x, net.final_gain(), net.final_bias(), "final_norm");
  // The newest kept entry's row (none: a zero vector, as SasrecModel::encode gives).
  const int64_t zero[] = {0};
  const std::string newest_mask =
      g.op("Mul", {kept, to_float(g.op("Equal", {back, g.int64s("newest", zero, {})}), "is_newest")}, "newest");
  const std::string encoding = weighted_row_sum(g, newest_mask, y);  // N x d
  const std::string out = g.op("Gemm", {encoding, table}, prefix + "dot");
  g.attr("transB", int64_t{1});
  return out;
}

// The inputs a history graph of `model` reads: history_items and history_weights (iALS, and
// every fusion: its history feature counts the history), user_tokens and recent_items (the
// two-tower model). An error for a kind without a history graph.
struct HistoryInputs {
  bool history = false, tower = false, sequence = false;  // sequence: history_items alone (sasrec)
};
Status history_inputs(const Recommender& model, HistoryInputs* in) {
  if (dynamic_cast<const IalsModel*>(&model)) {
    in->history = true;
    return Status::ok();
  }
  if (dynamic_cast<const TwoTowerModel*>(&model)) {
    in->tower = true;
    return Status::ok();
  }
  if (dynamic_cast<const SasrecModel*>(&model)) {
    in->sequence = true;
    return Status::ok();
  }
  if (const auto* f = dynamic_cast<const FusionModel*>(&model)) {
    in->history = true;
    for (size_t k = 0; k < f->num_parts(); ++k) {
      if (dynamic_cast<const SasrecModel*>(&f->part(k)))
        return Status::invalid_argument(
            "onnx export: --graph history of a fusion holding sasrec is not built yet; "
            "export the sasrec model alone");
      NUDGE_RETURN_IF_ERROR(history_inputs(f->part(k), in));
    }
    return Status::ok();
  }
  return Status::invalid_argument(
      "onnx export: --graph history needs an ials, twotower or sasrec model, or a fusion of the first two; " +
      std::string(model.name()) + " fits a new user by an optimisation with no ONNX form (use --graph user)");
}

// The history graph of an iALS, two-tower or fusion model (history_inputs checked first).
Result<std::string> history_scores(GraphBuilder& g, const Recommender& model, bool int8, const std::string& prefix) {
  if (const auto* m = dynamic_cast<const IalsModel*>(&model)) return ials_history_scores(g, *m, int8, prefix);
  if (const auto* m = dynamic_cast<const TwoTowerModel*>(&model)) return two_tower_history_scores(g, *m, int8, prefix);
  if (const auto* m = dynamic_cast<const SasrecModel*>(&model)) return sasrec_history_scores(g, *m, int8, prefix);
  const auto& f = dynamic_cast<const FusionModel&>(model);
  NUDGE_RETURN_IF_ERROR(check_fusion_normalisation(f));
  std::vector<std::string> z;
  for (size_t k = 0; k < f.num_parts(); ++k) {
    NUDGE_ASSIGN_OR_RETURN(std::string s, history_scores(g, f.part(k), int8, component_prefix(f, k)));
    z.push_back(normalise(g, s, f.options().normalise, component_prefix(f, k)));
  }
  // h = min(1, log(1 + n) / history_scale) for n history items, as history_feature() gives.
  const PaddedIndices h = unpad(g, "history_items");
  const std::string n = g.reduce_sum(h.valid, 1, true);  // N x 1
  const std::string feature = g.op("Min",
                                   {g.op("Div", {g.op("Log", {g.op("Add", {n, g.scalar("one", 1.f)})}),
                                                 g.scalar("fusion_history_scale", f.history_scale())}),
                                    g.scalar("one", 1.f)},
                                   "fusion_history_feature");
  return combine(g, f, z, feature);
}

void add_metadata(onnx::ModelProto* model, const std::string& key, const std::string& value) {
  onnx::StringStringEntryProto* e = model->add_metadata_props();
  e->set_key(key);
  e->set_value(value);
}

nlohmann::json ids(const IdMap& map) {
  nlohmann::json out = nlohmann::json::array();
  for (uint32_t k = 0; k < map.size(); ++k) out.push_back(map.id_of(k));
  return out;
}

void add_two_tower_metadata(onnx::ModelProto* model, const TwoTowerModel& m) {
  nlohmann::json tokens = nlohmann::json::array();
  for (uint32_t u = 0; u < m.num_users(); ++u) {
    const std::span<const uint32_t> t = m.user_tokens(u);
    tokens.push_back(std::vector<uint32_t>(t.begin(), t.end()));
  }
  nlohmann::json vocabulary = nlohmann::json::object();
  for (const auto& [value, token] : m.user_feature_tokens()) vocabulary[value] = token;
  nlohmann::json numeric = nlohmann::json::array();
  for (const TwoTowerModel::NumericField& f : m.user_numeric_features())
    numeric.push_back({{"field", f.field}, {"first_token", f.first_token}, {"cuts", f.cuts}});
  add_metadata(model, "nudge.user_tokens", tokens.dump());
  add_metadata(model, "nudge.user_feature_tokens", vocabulary.dump());
  add_metadata(model, "nudge.user_numeric_features", numeric.dump());
  add_metadata(model, "nudge.history_length", std::to_string(m.options().history));
}

}  // namespace

Status check_onnx_bytes(const std::string& bytes) {
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) return Status::corruption("onnx: not a serialised ModelProto");
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    return Status::invalid_argument(std::string("onnx checker: ") + e.what());
  }
  return Status::ok();
}

Result<std::string> onnx_model_bytes(const Recommender& model, const IdMap& users, const IdMap& items_map,
                                     const OnnxExportOptions& options) {
  const bool history = options.graph == ExportGraph::kHistory;
  onnx::ModelProto proto;
  proto.set_ir_version(onnx::IR_VERSION);
  proto.set_producer_name("nudge");
  proto.set_producer_version(std::to_string(kOnnxExportVersion));
  proto.set_domain("ai.nudge");
  proto.set_doc_string("Nudge " + std::string(model.name()) + " scores; inputs and outputs in docs/formats/onnx.md");
  onnx::OperatorSetIdProto* opset = proto.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOnnxOpset);
  onnx::GraphProto* graph = proto.mutable_graph();
  graph->set_name(std::string("nudge_") + std::string(model.name()) + (history ? "_history" : "_user"));
  GraphBuilder g(graph);
  const auto items = static_cast<int64_t>(model.num_items());
  std::string scores;
  if (!history) {
    g.input("user", TensorProto::INT64, {{.name = "N"}});
    NUDGE_ASSIGN_OR_RETURN(scores, user_scores(g, model, "user", options.int8, ""));
  } else {
    HistoryInputs in;
    NUDGE_RETURN_IF_ERROR(history_inputs(model, &in));
    if (in.history || in.sequence) g.input("history_items", TensorProto::INT64, {{.name = "N"}, {.name = "L"}});
    if (in.history) g.input("history_weights", TensorProto::FLOAT, {{.name = "N"}, {.name = "L"}});
    if (in.tower) {
      g.input("user_tokens", TensorProto::INT64, {{.name = "N"}, {.name = "T"}});
      g.input("recent_items", TensorProto::INT64, {{.name = "N"}, {.name = "H"}});
    }
    NUDGE_ASSIGN_OR_RETURN(scores, history_scores(g, model, options.int8, ""));
  }
  if (options.top_k == 0) {
    g.output(scores, "scores", TensorProto::FLOAT, {{.name = "N"}, {.size = items}});
  } else {
    if (options.top_k > model.num_items())
      return Status::invalid_argument("onnx export: --top-k " + std::to_string(options.top_k) + " exceeds the " +
                                      std::to_string(model.num_items()) + " items");
    // Excluded items get -inf added (ScatterElements' add: padding adds 0, so its stand-in
    // index 0 is untouched), then TopK, whose ties go to the lower index as Nudge's do.
    g.input("exclude_items", TensorProto::INT64, {{.name = "N"}, {.name = "E"}});
    const PaddedIndices ex = unpad(g, "exclude_items");
    const std::string penalty =
        g.op("Where",
             {ex.present, g.scalar("minus_infinity", -std::numeric_limits<float>::infinity()), g.scalar("zero", 0.f)});
    const std::string masked = g.op("ScatterElements", {scores, ex.index, penalty}, "masked_scores");
    g.attr("axis", int64_t{1});
    g.attr("reduction", std::string("add"));
    const int64_t k[] = {options.top_k};
    const std::string top_scores = g.op("TopK", {masked, g.int64s("k", k, {1})}, "top_values");
    g.attr("axis", int64_t{1});
    const std::string top_items = g.extra_output("top_indices");
    g.output(top_items, "top_items", TensorProto::INT64, {{.name = "N"}, {.size = options.top_k}});
    g.output(top_scores, "top_scores", TensorProto::FLOAT, {{.name = "N"}, {.size = options.top_k}});
  }

  add_metadata(&proto, "nudge.kind", std::string(model.name()));
  add_metadata(&proto, "nudge.format_version", std::to_string(kOnnxExportVersion));
  add_metadata(&proto, "nudge.graph", history ? "history" : "user");
  add_metadata(&proto, "nudge.int8", options.int8 ? "true" : "false");
  add_metadata(&proto, "nudge.top_k", std::to_string(options.top_k));
  add_metadata(&proto, "nudge.params", model.params().to_string());
  add_metadata(&proto, "nudge.items", ids(items_map).dump());
  add_metadata(&proto, "nudge.users", ids(users).dump());
  // The two-tower model's token layout, itself or the fusion's component.
  const auto* tower = dynamic_cast<const TwoTowerModel*>(&model);
  if (const auto* f = dynamic_cast<const FusionModel*>(&model)) {
    for (size_t k = 0; k < f->num_parts() && !tower; ++k) tower = dynamic_cast<const TwoTowerModel*>(&f->part(k));
  }
  if (tower) add_two_tower_metadata(&proto, *tower);

  std::string bytes;
  if (!proto.SerializeToString(&bytes))
    return Status::too_large("onnx export: the model is over protobuf's 2 GiB limit for one file");
  NUDGE_RETURN_IF_ERROR(check_onnx_bytes(bytes));
  return bytes;
}

Status export_onnx(const Recommender& model, const IdMap& users, const IdMap& items, const OnnxExportOptions& options,
                   const std::string& path) {
  NUDGE_ASSIGN_OR_RETURN(std::string bytes, onnx_model_bytes(model, users, items, options));
  return write_file_atomically(path, {bytes});
}

}  // namespace nudge
