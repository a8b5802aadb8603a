#include "nudge/registry.h"

#include <type_traits>

#include "nudge/fusion.h"
#include "nudge/models/bpr.h"
#include "nudge/models/ease.h"
#include "nudge/models/ials.h"
#include "nudge/models/knn.h"
#include "nudge/models/neumf.h"
#include "nudge/models/popularity.h"
#include "nudge/models/sasrec.h"
#include "nudge/models/svd.h"
#include "nudge/models/transition.h"
#include "nudge/models/two_tower.h"
#include "nudge/param_table.h"

namespace nudge {
namespace {

template <typename Model, typename Options>
Result<std::unique_ptr<Recommender>> make(const Params& params) {
  NUDGE_ASSIGN_OR_RETURN(Options options, Options::from_params(params));
  return std::unique_ptr<Recommender>(std::make_unique<Model>(options, params));
}

template <typename Model>
Result<std::unique_ptr<Recommender>> make_knn(const Params& params) {
  const bool items = std::is_same_v<Model, ItemKnnModel>;
  NUDGE_ASSIGN_OR_RETURN(KnnOptions options, KnnOptions::from_params(items ? "itemknn" : "userknn", params));
  return std::unique_ptr<Recommender>(std::make_unique<Model>(options, params));
}

template <bool kPlusPlus>
Result<std::unique_ptr<Recommender>> make_svd(const Params& params) {
  NUDGE_ASSIGN_OR_RETURN(SvdOptions options, SvdOptions::from_params(kPlusPlus ? "svdpp" : "svd", params, kPlusPlus));
  return std::unique_ptr<Recommender>(std::make_unique<SvdModel>(options, params, kPlusPlus));
}

template <const char* kMode>
Result<std::unique_ptr<Recommender>> make_neumf(const Params& params) {
  NUDGE_ASSIGN_OR_RETURN(NeuMfOptions options, NeuMfOptions::from_params(kMode, params));
  return std::unique_ptr<Recommender>(std::make_unique<NeuMfModel>(options, params));
}
constexpr char kGmf[] = "gmf";
constexpr char kMlp[] = "mlp";
constexpr char kNeuMf[] = "neumf";

// A model's parameters with the defaults it starts from.
template <typename Options>
std::vector<ParamInfo> describe() {
  return Options::parameters().describe(Options{});
}
template <bool kItems>
std::vector<ParamInfo> describe_knn() {
  return KnnOptions::parameters().describe(KnnOptions::defaults(kItems ? "itemknn" : "userknn"));
}
template <bool kPlusPlus>
std::vector<ParamInfo> describe_svd() {
  return SvdOptions::parameters().describe(SvdOptions::defaults(kPlusPlus));
}

struct Entry {
  const char* name;
  Result<std::unique_ptr<Recommender>> (*create)(const Params&);
  std::vector<ParamInfo> (*parameters)();
};

constexpr Entry kModels[] = {
    {"popularity", make<PopularityModel, PopularityOptions>, describe<PopularityOptions>},
    {"itemknn", make_knn<ItemKnnModel>, describe_knn<true>},
    {"userknn", make_knn<UserKnnModel>, describe_knn<false>},
    {"ials", make<IalsModel, IalsOptions>, describe<IalsOptions>},
    {"bpr", make<BprModel, BprOptions>, describe<BprOptions>},
    {"ease", make<EaseModel, EaseOptions>, describe<EaseOptions>},
    {"svd", make_svd<false>, describe_svd<false>},
    {"svdpp", make_svd<true>, describe_svd<true>},
    {"gmf", make_neumf<kGmf>, describe<NeuMfOptions>},
    {"mlp", make_neumf<kMlp>, describe<NeuMfOptions>},
    {"neumf", make_neumf<kNeuMf>, describe<NeuMfOptions>},
    {"twotower", make<TwoTowerModel, TwoTowerOptions>, describe<TwoTowerOptions>},
    {"transition", make<TransitionModel, TransitionOptions>, describe<TransitionOptions>},
    {"sasrec", make<SasrecModel, SasrecOptions>, describe<SasrecOptions>},
    {"fusion", FusionModel::create, describe<FusionOptions>},
};

Status unknown_model(std::string_view name) {
  std::string known;
  for (const Entry& e : kModels) known += (known.empty() ? "" : ", ") + std::string(e.name);
  return Status::invalid_argument("unknown model '" + std::string(name) + "' (known: " + known + ")");
}

}  // namespace

Result<std::unique_ptr<Recommender>> make_recommender(std::string_view name, const Params& params) {
  for (const Entry& e : kModels) {
    if (e.name == name) return e.create(params);
  }
  return unknown_model(name);
}

Result<std::vector<ParamInfo>> model_parameters(std::string_view name) {
  for (const Entry& e : kModels) {
    if (e.name == name) return e.parameters();
  }
  return unknown_model(name);
}

Result<std::unique_ptr<Recommender>> make_recommender_from_spec(std::string_view spec) {
  const size_t colon = spec.find(':');
  Params params;
  if (colon != std::string_view::npos) {
    NUDGE_ASSIGN_OR_RETURN(params, Params::parse(spec.substr(colon + 1)));
  }
  return make_recommender(spec.substr(0, colon), params);
}

std::string spec_of(const Recommender& model) {
  const std::string params = model.params().to_string();
  return std::string(model.name()) + (params.empty() ? "" : ":" + params);
}

std::vector<std::string> registered_models() {
  std::vector<std::string> out;
  for (const Entry& e : kModels) out.emplace_back(e.name);
  return out;
}

}  // namespace nudge
