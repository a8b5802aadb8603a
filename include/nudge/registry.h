// The model registry: models created by name, so the CLI, model files and serving never name
// concrete classes.
//
//   popularity  most popular items, optional exponential time decay
//   itemknn     item-based neighbourhood (cosine / jaccard / bm25, shrinkage, top-k pruning)
//   userknn     user-based neighbourhood
//   ials        implicit ALS with conjugate gradient (Hu, Koren, Volinsky 2008)
//   bpr         BPR matrix factorisation, Hogwild SGD
//   ease        EASE closed form (Steck 2019), catalogues up to ~20k items
//   svd         biased matrix factorisation for explicit ratings (Funk / Koren)
//   svdpp       SVD++ (Koren 2008)
//   gmf, mlp, neumf  neural collaborative filtering (He et al. 2017)
//   twotower    feature-aware two-tower model (item features, user features, recent items)
//   fusion      normalised weighted or learned combination of other models
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nudge/param_table.h"
#include "nudge/params.h"
#include "nudge/recommender.h"

namespace nudge {

// Unknown names and bad parameters are errors that list what is accepted.
Result<std::unique_ptr<Recommender>> make_recommender(std::string_view name, const Params& params);
// The same from a spec as `nudge train -m` takes it: "ials" or "ials:factors=64,alpha=2".
Result<std::unique_ptr<Recommender>> make_recommender_from_spec(std::string_view spec);
// The spec that recreates `model` untrained: its name and parameters.
std::string spec_of(const Recommender& model);
std::vector<std::string> registered_models();
// A model's parameters: key, accepted values, its default and meaning (`nudge params`).
Result<std::vector<ParamInfo>> model_parameters(std::string_view name);

}  // namespace nudge
