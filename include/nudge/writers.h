// Writers: Datasets back to the text formats the readers take (round trip exact).
//
// Interactions go to CSV with the header user_id,item_id,type,value,timestamp; features to
// the annotated CSV the feature reader takes (id,category,tags:multi,price:num). Floats are
// written in shortest round-trip form and IDs are quoted when they need it. Files are
// written to "<path>.tmp" and renamed, so a crash never leaves a half-written file in place.
#pragma once

#include <string>

#include "nudge/dataset.h"
#include "nudge/status.h"

namespace nudge {

Status write_interactions_csv(const Dataset& dataset, const std::string& path);
// id_header names the first column ("item_id"). Entities with no feature are written too.
Status write_features_csv(const FeatureTable& table, const IdMap& ids, const std::string& id_header,
                          const std::string& path);

}  // namespace nudge
