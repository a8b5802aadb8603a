// Model specs on the command line: "ials" or "ials:factors=64,alpha=2".
#pragma once

#include <memory>
#include <string>

#include "nudge/recommender.h"
#include "nudge/status.h"

namespace nudge::cli {

Result<std::unique_ptr<Recommender>> model_from_spec(const std::string& spec);

}  // namespace nudge::cli
