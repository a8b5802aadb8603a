// nudge export: a model file -> an embedded snapshot (float32 or int8) or an ONNX model.
#include <filesystem>
#include <memory>

#include "commands.h"
#include "nudge/log.h"
#include "nudge/model_file.h"
#include "nudge/onnx_export.h"
#include "nudge/snapshot.h"

namespace nudge::cli {

void add_export_command(CLI::App& root) {
  auto model_file = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto int8 = std::make_shared<bool>(false);
  auto format = std::make_shared<std::string>("snapshot");
  auto graph = std::make_shared<std::string>("user");
  CLI::App* cmd = root.add_subcommand(
      "export", "Write an embedded snapshot (for the C API) or an ONNX model (docs/formats/onnx.md) from a model file");
  cmd->add_option("--model-file", *model_file, "Model written by nudge train")->required();
  cmd->add_option("-o,--out", *out, "File to write")->required();
  cmd->add_option("--format", *format, "snapshot (ials only) or onnx")
      ->check(CLI::IsMember({"snapshot", "onnx"}))
      ->capture_default_str();
  cmd->add_option("--graph", *graph,
                  "onnx: user (scores of training users by index) or history (a user given by history: "
                  "ials fold-in, twotower user tower over token IDs, or their fusion)")
      ->check(CLI::IsMember({"user", "history"}))
      ->capture_default_str();
  cmd->add_flag("--int8", *int8, "Quantise item vectors to int8 with a per-row scale (~4x smaller)");
  auto top_k = std::make_shared<uint32_t>(0);
  cmd->add_option("--top-k", *top_k,
                  "onnx: end the graph in the top K items after an exclude_items input, instead of every score")
      ->capture_default_str();
  cmd->callback([model_file, out, int8, format, graph, top_k] {
    if (*format != "onnx" && (*graph != "user" || *top_k != 0))
      throw CommandError("--graph and --top-k are options of --format onnx");
    LoadedModel m = value_or_throw(load_model(*model_file));
    if (*format == "onnx") {
      const OnnxExportOptions options{
          .graph = *graph == "history" ? ExportGraph::kHistory : ExportGraph::kUser, .int8 = *int8, .top_k = *top_k};
      ok_or_throw(export_onnx(m, options, *out));
      fmt::print("exported {} ({} graph, {}) -> {} ({} bytes, ONNX opset {}, checked)\n", m.model->name(), *graph,
                 *int8 ? "int8 items" : "float32", *out, std::filesystem::file_size(*out), kOnnxOpset);
      return;
    }
    const auto* ials = dynamic_cast<const IalsModel*>(m.model.get());
    if (!ials) {
      throw CommandError("export supports ials models; '" + *model_file + "' holds a " + std::string(m.model->name()) +
                         " model");
    }
    std::vector<float> popularity(m.items.size(), 0.f);
    for (uint32_t c : m.history.indices) popularity[c] += 1.f;
    ok_or_throw(write_snapshot(*ials, m.items, popularity, {.int8 = *int8}, *out));
    fmt::print("exported {} items x {} factors ({}) -> {} ({} bytes)\n", m.items.size(), ials->item_factors().cols(),
               *int8 ? "int8" : "float32", *out, std::filesystem::file_size(*out));
  });
}

}  // namespace nudge::cli
