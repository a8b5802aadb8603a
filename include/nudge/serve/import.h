// Bootstrapping a server from history: a Dataset (read by the usual readers, or synthetic)
// copied into an Engine's store as events and item records.
#pragma once

#include "nudge/dataset.h"
#include "nudge/serve/engine.h"

namespace nudge::serve {

// Item records from a dataset's item features: the categorical field "category", every other
// categorical or multi-categorical value as a tag, and the numeric field "price".
std::vector<ItemRecord> item_records(const Dataset& data);

// Stores the item records, then every interaction in order, in durable batches. Background
// retrains are held meanwhile; the caller retrains once at the end.
Status import_dataset(Engine& engine, const Dataset& data, size_t batch_size = 50000);

}  // namespace nudge::serve
