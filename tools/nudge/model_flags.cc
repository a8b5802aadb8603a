#include "model_flags.h"

#include "nudge/registry.h"

namespace nudge::cli {

Result<std::unique_ptr<Recommender>> model_from_spec(const std::string& spec) {
  const size_t colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  Params params;
  if (colon != std::string::npos) {
    NUDGE_ASSIGN_OR_RETURN(params, Params::parse(spec.substr(colon + 1)));
  }
  return make_recommender(name, params);
}

}  // namespace nudge::cli
