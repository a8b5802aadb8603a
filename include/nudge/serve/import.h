// Bootstrapping a server from history: a Dataset (read by the usual readers, or synthetic)
// copied into an Engine's store as events and item records.
#pragma once

#include "nudge/dataset.h"
#include "nudge/serve/engine.h"

namespace nudge::serve {

// Item records from a dataset's item features: the categorical field "category", every other
// categorical or multi-categorical value as a tag, and the numeric field "price".
std::vector<ItemRecord> item_records(const Dataset& data);

// User records from a dataset's user features: attributes as PUT /v1/users takes them, a
// JSON object of each user's features (categorical: a string, multi-categorical: an array of
// strings, numeric: a number). Users without features get none.
std::vector<UserRecord> user_records(const Dataset& data);

// Stores the item records and user records, then every interaction in order, in durable batches. Background
// retrains are held meanwhile; the caller retrains once at the end (holding retrains
// across both, or the background retrainer may train on the import's events as well).
Status import_dataset(Engine& engine, const Dataset& data, size_t batch_size = 50000);

}  // namespace nudge::serve
