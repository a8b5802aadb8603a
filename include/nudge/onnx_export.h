// ONNX export: the scoring part of a fitted model as an ONNX graph (opset 17), for ONNX
// Runtime, TensorRT or any other ONNX runtime. docs/formats/onnx.md names every input and
// output and shows how to call each graph.
//
// Two graphs, chosen by ExportGraph:
//   kUser     input  user     int64 [N]         training user indices (0 .. users - 1)
//             output scores   float [N, items]  what Recommender::score_user gives
//             for iALS, BPR, SVD, SVD++, GMF/MLP/NeuMF, the two-tower model (its user tower
//             evaluated for every training user), sasrec (each training user's encoding)
//             and a fusion of those (weighted or learned,
//             zscore or minmax normalisation)
//   kHistory  a user known by behaviour rather than by index:
//             iALS      history_items int64 [N, L], history_weights float [N, L] -> scores,
//                       the exact fold-in solve (Recommender::score_history)
//             twotower  user_tokens int64 [N, T], recent_items int64 [N, H] -> scores, the
//                       user tower over token IDs (attribute tokens, recent items)
//             sasrec    history_items int64 [N, L] oldest first -> scores, the
//                       self-attention encoder (Recommender::score_history)
//             fusion    of those: history_items, history_weights and, with a two-tower
//                       component, user_tokens and recent_items -> the fused scores
//                       (FusionModel::score_history_with)
//             rows are padded with -1 (an index < 0 is no entry)
// With top_k = K, the graph also takes exclude_items int64 [N, E] (items never to return,
// e.g. the user's history; -1 padded) and outputs top_items int64 [N, K] and top_scores
// float [N, K], best first, ties to the lower index as in Nudge; -inf scores mark slots for
// which fewer than K items were left. K must not exceed the number of items.
// With int8, every item matrix is stored as int8 with a per-row scale (as the embedded
// snapshot does, about 4x smaller) and dequantised inside the graph (DequantizeLinear).
//
// The file's metadata (metadata_props) carries nudge.kind, nudge.format_version, nudge.graph,
// nudge.items and nudge.users (JSON arrays of the external IDs, in index order) and, for the
// two-tower model, its token layout (docs/formats/onnx.md).
//
// Written with the ONNX library (libonnx) and passed through its checker before the file is
// written; the file is written atomically.
#pragma once

#include <string>

#include "nudge/model_file.h"
#include "nudge/status.h"

namespace nudge {

enum class ExportGraph { kUser, kHistory };

struct OnnxExportOptions {
  ExportGraph graph = ExportGraph::kUser;
  bool int8 = false;  // item matrices as int8 with a per-row scale
  // > 0: the graph ends in a top-k instead of the score matrix (see below).
  uint32_t top_k = 0;
};

// The format version in nudge.format_version; bumped when inputs or outputs change.
inline constexpr int kOnnxExportVersion = 1;
// The ONNX opset the graphs use (ONNX 1.12, Debian 12's, knows opsets up to 17).
inline constexpr int kOnnxOpset = 17;

// Serialised ONNX model bytes for `model`, checked by the ONNX checker. A kind or
// combination without an ONNX form (popularity, KNN, EASE, a history graph for a model
// whose fold-in is an optimisation, rank normalisation) gives an invalid-argument Status
// naming it.
Result<std::string> onnx_model_bytes(const Recommender& model, const IdMap& users, const IdMap& items,
                                     const OnnxExportOptions& options);
inline Result<std::string> onnx_model_bytes(const LoadedModel& model, const OnnxExportOptions& options) {
  return onnx_model_bytes(*model.model, model.users, model.items, options);
}

// onnx_model_bytes written atomically to `path`.
Status export_onnx(const Recommender& model, const IdMap& users, const IdMap& items, const OnnxExportOptions& options,
                   const std::string& path);
inline Status export_onnx(const LoadedModel& model, const OnnxExportOptions& options, const std::string& path) {
  return export_onnx(*model.model, model.users, model.items, options, path);
}

// Runs the ONNX checker on serialised model bytes; the checker's message on failure.
Status check_onnx_bytes(const std::string& bytes);

}  // namespace nudge
