#include "export/graph_builder.h"

#include "nudge/snapshot.h"

namespace nudge::onnx_export {

std::string GraphBuilder::fresh(std::string_view hint) {
  const std::string base(hint.empty() ? "t" : hint);
  std::string name = base;
  for (int k = 1; used_.count(name); ++k) name = base + "_" + std::to_string(k);
  used_.insert(name);
  return name;
}

onnx::TensorProto* GraphBuilder::initializer(std::string_view hint, int32_t elem_type, std::vector<int64_t> dims) {
  onnx::TensorProto* t = graph_->add_initializer();
  t->set_name(fresh(hint));
  t->set_data_type(elem_type);
  for (int64_t d : dims) t->add_dims(d);
  return t;
}

std::string GraphBuilder::floats(std::string_view hint, std::span<const float> data, std::vector<int64_t> dims) {
  onnx::TensorProto* t = initializer(hint, onnx::TensorProto::FLOAT, std::move(dims));
  // raw_data is little-endian by the ONNX spec, as is every machine Nudge builds for.
  t->set_raw_data(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(float));
  return t->name();
}

std::string GraphBuilder::scalar(std::string_view hint, float value) {
  return floats(hint, std::span<const float>(&value, 1), {});
}

std::string GraphBuilder::int64s(std::string_view hint, std::span<const int64_t> data, std::vector<int64_t> dims) {
  onnx::TensorProto* t = initializer(hint, onnx::TensorProto::INT64, std::move(dims));
  t->set_raw_data(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(int64_t));
  return t->name();
}

std::string GraphBuilder::int8s(std::string_view hint, std::span<const int8_t> data, std::vector<int64_t> dims) {
  onnx::TensorProto* t = initializer(hint, onnx::TensorProto::INT8, std::move(dims));
  t->set_raw_data(reinterpret_cast<const char*>(data.data()), data.size());
  return t->name();
}

std::string GraphBuilder::bools(std::string_view hint, std::span<const uint8_t> data, std::vector<int64_t> dims) {
  onnx::TensorProto* t = initializer(hint, onnx::TensorProto::BOOL, std::move(dims));
  t->set_raw_data(reinterpret_cast<const char*>(data.data()), data.size());
  return t->name();
}

namespace {

// A rows x cols row-major matrix as cols x rows.
template <typename T>
std::vector<T> transpose(const T* data, size_t rows, size_t cols) {
  std::vector<T> t(rows * cols);
  for (size_t i = 0; i < rows; ++i)
    for (size_t k = 0; k < cols; ++k) t[k * rows + i] = data[i * cols + k];
  return t;
}

}  // namespace

std::string GraphBuilder::matrix(std::string_view hint, const float* data, int64_t rows, int64_t cols, bool int8,
                                 bool transposed) {
  const std::vector<int64_t> dims = transposed ? std::vector<int64_t>{cols, rows} : std::vector<int64_t>{rows, cols};
  const auto r = static_cast<size_t>(rows), c = static_cast<size_t>(cols);
  if (!int8) {
    if (!transposed) return floats(hint, std::span<const float>(data, r * c), dims);
    return floats(hint, transpose(data, r, c), dims);
  }
  std::vector<int8_t> q;
  std::vector<float> scales;
  quantise_rows(data, r, c, &q, &scales);
  if (transposed) q = transpose(q.data(), r, c);
  const std::string base(hint);
  const std::string values = int8s(base + "_int8", q, dims);
  const std::string scale = floats(base + "_scale", scales, {rows});
  const std::vector<int8_t> zeros(r, 0);
  const std::string zero = int8s(base + "_zero_point", zeros, {rows});
  const std::string out = op("DequantizeLinear", {values, scale, zero}, base);
  attr("axis", int64_t{transposed ? 1 : 0});  // one scale per item
  return out;
}

std::string GraphBuilder::op(std::string_view type, std::initializer_list<std::string> inputs, std::string_view hint) {
  onnx::NodeProto* n = graph_->add_node();
  n->set_op_type(std::string(type));
  for (const std::string& in : inputs) n->add_input(in);
  std::string out = fresh(hint.empty() ? type : hint);
  n->set_name(out + "_node");
  n->add_output(out);
  last_ = n;
  return out;
}

void GraphBuilder::attr(std::string_view name, int64_t value) {
  onnx::AttributeProto* a = last_->add_attribute();
  a->set_name(std::string(name));
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

void GraphBuilder::attr(std::string_view name, float value) {
  onnx::AttributeProto* a = last_->add_attribute();
  a->set_name(std::string(name));
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(value);
}

void GraphBuilder::attr(std::string_view name, std::vector<int64_t> values) {
  onnx::AttributeProto* a = last_->add_attribute();
  a->set_name(std::string(name));
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}

void GraphBuilder::attr(std::string_view name, const std::string& value) {
  onnx::AttributeProto* a = last_->add_attribute();
  a->set_name(std::string(name));
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(value);
}

std::string GraphBuilder::extra_output(std::string_view hint) {
  std::string out = fresh(hint);
  last_->add_output(out);
  return out;
}

std::string GraphBuilder::gather_rows(const std::string& table, const std::string& indices) {
  std::string out = op("Gather", {table, indices});
  attr("axis", int64_t{0});
  return out;
}

std::string GraphBuilder::unsqueeze(const std::string& x, int64_t axis) {
  const int64_t axes[] = {axis};
  return op("Unsqueeze", {x, int64s("axes", axes, {1})});
}

std::string GraphBuilder::reduce_sum(const std::string& x, int64_t axis, bool keep_dims) {
  const int64_t axes[] = {axis};
  std::string out = op("ReduceSum", {x, int64s("axes", axes, {1})});
  attr("keepdims", int64_t{keep_dims ? 1 : 0});
  return out;
}

std::string GraphBuilder::reduce_mean(const std::string& x, int64_t axis, bool keep_dims) {
  // ReduceMean takes its axes as an attribute until opset 18.
  std::string out = op("ReduceMean", {x});
  attr("axes", std::vector<int64_t>{axis});
  attr("keepdims", int64_t{keep_dims ? 1 : 0});
  return out;
}

void GraphBuilder::set_shape(onnx::ValueInfoProto* v, int32_t elem_type, std::initializer_list<Dim> dims) {
  onnx::TypeProto_Tensor* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(elem_type);
  onnx::TensorShapeProto* shape = t->mutable_shape();
  for (const Dim& d : dims) {
    onnx::TensorShapeProto_Dimension* dim = shape->add_dim();
    if (d.size >= 0) dim->set_dim_value(d.size);
    else dim->set_dim_param(std::string(d.name));
  }
}

void GraphBuilder::input(const std::string& name, int32_t elem_type, std::initializer_list<Dim> dims) {
  used_.insert(name);
  onnx::ValueInfoProto* v = graph_->add_input();
  v->set_name(name);
  set_shape(v, elem_type, dims);
}

void GraphBuilder::output(const std::string& from, const std::string& name, int32_t elem_type,
                          std::initializer_list<Dim> dims) {
  onnx::NodeProto* n = graph_->add_node();
  n->set_op_type("Identity");
  n->set_name(name + "_node");
  n->add_input(from);
  n->add_output(name);
  used_.insert(name);
  onnx::ValueInfoProto* v = graph_->add_output();
  v->set_name(name);
  set_shape(v, elem_type, dims);
}

}  // namespace nudge::onnx_export
