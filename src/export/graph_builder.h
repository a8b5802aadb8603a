// GraphBuilder: appends nodes, initializers, inputs and outputs to an onnx::GraphProto with
// unique names, so the exporters read as the math they encode. Internal to the ONNX export.
//
// Not thread-safe; one builder per graph.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <initializer_list>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nudge::onnx_export {

// A dimension: fixed (>= 0) or symbolic by name ("N").
struct Dim {
  int64_t size = -1;
  std::string_view name;
};

class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto* graph) : graph_(graph) {}

  // A fresh name starting with `hint` (hint itself the first time).
  std::string fresh(std::string_view hint);

  // Initializers (constants), row-major; each returns its (fresh) name.
  std::string floats(std::string_view hint, std::span<const float> data, std::vector<int64_t> dims);
  std::string scalar(std::string_view hint, float value);
  std::string int64s(std::string_view hint, std::span<const int64_t> data, std::vector<int64_t> dims);
  std::string int8s(std::string_view hint, std::span<const int8_t> data, std::vector<int64_t> dims);
  std::string bools(std::string_view hint, std::span<const uint8_t> data, std::vector<int64_t> dims);
  // A rows x cols row-major matrix (one row per item) as a constant: float, or with `int8`
  // int8 with one scale per row, dequantised by a node. With `transposed` the tensor is
  // cols x rows (the scales still one per original row). Returns the float tensor's name.
  std::string matrix(std::string_view hint, const float* data, int64_t rows, int64_t cols, bool int8,
                     bool transposed = false);

  // One node with one output; returns the output's name.
  std::string op(std::string_view type, std::initializer_list<std::string> inputs, std::string_view hint = {});
  // The node last added by op(), for attributes.
  onnx::NodeProto* last() { return last_; }
  void attr(std::string_view name, int64_t value);
  void attr(std::string_view name, float value);
  void attr(std::string_view name, std::vector<int64_t> values);
  void attr(std::string_view name, const std::string& value);
  // Adds a further output to the node last added (TopK's indices); returns its name.
  std::string extra_output(std::string_view hint);

  // Common shapes of nodes.
  std::string gather_rows(const std::string& table, const std::string& indices);  // Gather axis 0
  std::string unsqueeze(const std::string& x, int64_t axis);
  std::string reduce_sum(const std::string& x, int64_t axis, bool keep_dims);
  std::string reduce_mean(const std::string& x, int64_t axis, bool keep_dims);

  // A graph input, by its exact name.
  void input(const std::string& name, int32_t elem_type, std::initializer_list<Dim> dims);
  // Makes tensor `from` the graph output `name` (an Identity node, so `name` is exact).
  void output(const std::string& from, const std::string& name, int32_t elem_type, std::initializer_list<Dim> dims);

 private:
  onnx::TensorProto* initializer(std::string_view hint, int32_t elem_type, std::vector<int64_t> dims);
  static void set_shape(onnx::ValueInfoProto* v, int32_t elem_type, std::initializer_list<Dim> dims);

  onnx::GraphProto* graph_;
  onnx::NodeProto* last_ = nullptr;
  std::set<std::string, std::less<>> used_;
};

}  // namespace nudge::onnx_export
